-- Presses and other alert-relevant events waiting to be routed into the alert outbox. A commit inserts a row
-- here for each event it stored for the first time, in its own transaction, so an event is routed once per
-- fleet however many nodes it reached. Any node takes rows with FOR UPDATE SKIP LOCKED, routes them, queues
-- their deliveries in alert_outbox and deletes them in one transaction: a node that dies midway leaves the
-- rows to another node, and no delivery is queued twice.
CREATE TABLE alert_intake (
  event_id text COLLATE "C" PRIMARY KEY,
  body jsonb NOT NULL,
  stored_at timestamptz NOT NULL DEFAULT now()
);
