-- What the nodes of a fleet agree on through PostgreSQL: who runs the once-per-fleet tasks (leases), and
-- which notification deliveries are still to be made (the alert outbox).

-- A lease names one holder until expires_at (the database's clock, so nodes' clocks do not matter).
-- epoch grows at every change of holder: a fencing token a task can check its writes against.
CREATE TABLE leases (
  name text PRIMARY KEY,
  holder text NOT NULL,
  epoch bigint NOT NULL DEFAULT 1,
  expires_at timestamptz NOT NULL
);

-- One row per delivery: an alert to one recipient over one channel. The key makes enqueueing idempotent, so
-- two nodes that both stored the same press (a device resent it during failover) queue one delivery.
-- Drainers take rows with FOR UPDATE SKIP LOCKED, each row on one node at a time.
CREATE TABLE alert_outbox (
  alert_id text COLLATE "C" NOT NULL,
  channel text NOT NULL,
  recipient text NOT NULL,
  priority smallint NOT NULL,
  alert jsonb NOT NULL,
  is_operator boolean NOT NULL DEFAULT false,
  enqueued_at timestamptz NOT NULL DEFAULT now(),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
  finished_at timestamptz,
  delivered_by text,
  last_error text,
  PRIMARY KEY (alert_id, channel, recipient)
);
CREATE INDEX alert_outbox_due ON alert_outbox (priority DESC, next_attempt_at) WHERE state = 'pending';
CREATE INDEX alert_outbox_finished ON alert_outbox (finished_at) WHERE state <> 'pending';
