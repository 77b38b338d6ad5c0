-- Events, clip records and chunk receipts of every node of a fleet (collector/postgres/postgres-event-store.ts).
-- Ids are ULIDs compared byte-wise (COLLATE "C"), so id order is capture order whatever the database's locale.

-- Deduplication holds across nodes and after failover: a resent event hits the primary key and is skipped
-- (INSERT ... ON CONFLICT DO NOTHING), whichever node it arrives at.
CREATE TABLE events (
  device_id text COLLATE "C" NOT NULL,
  event_id text COLLATE "C" NOT NULL,
  -- The device's own sequence number: its order, and gaps in it are what a lost event looks like.
  seq bigint NOT NULL,
  class text NOT NULL CHECK (class IN ('high', 'medium', 'low')),
  type text NOT NULL,
  received_at_ms bigint NOT NULL,
  -- The whole stored envelope, as the Level store keeps it.
  body jsonb NOT NULL,
  CONSTRAINT events_device_event UNIQUE (device_id, event_id)
);
-- An id is one event whichever device sent it (as in the Level store): no device can claim, or shadow,
-- another's event by reusing its id, and the HTTP routes find an event by its id alone.
CREATE UNIQUE INDEX events_by_id ON events (event_id);
CREATE INDEX events_by_class ON events (class, event_id);
CREATE INDEX events_by_device_seq ON events (device_id, seq);

-- Clip records; state mirrors record.state ('receiving', 'awaiting-resend', 'complete', 'corrupt').
CREATE TABLE clips (
  clip_id text COLLATE "C" PRIMARY KEY,
  device_id text COLLATE "C" NOT NULL,
  state text NOT NULL,
  record jsonb NOT NULL
);
CREATE INDEX clips_awaiting_resend ON clips (device_id, clip_id) WHERE state = 'awaiting-resend';

-- A chunk whose body is durably stored: a resent chunk is acked, not stored again.
CREATE TABLE chunk_receipts (
  chunk_id text COLLATE "C" PRIMARY KEY,
  device_id text COLLATE "C" NOT NULL,
  clip_id text COLLATE "C" NOT NULL,
  chunk_index integer NOT NULL,
  size_bytes integer NOT NULL
);
CREATE INDEX chunk_receipts_by_clip ON chunk_receipts (clip_id, chunk_index);
