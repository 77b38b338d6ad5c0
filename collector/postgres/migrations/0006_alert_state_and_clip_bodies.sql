-- What the alerts and the clips kept in each node's data folder, shared by the nodes of a fleet: the
-- homeowners' saved settings, their Web Push subscriptions, the dead letters, Home Assistant discovery's
-- memory, and the clip bodies (collector/postgres/postgres-*-store.ts, postgres-dead-letter-log.ts).

-- Settings a homeowner saved from the dashboard, laid over the config's alert users. A save notifies the
-- other nodes (channel doorbell_user_settings), which read the table again.
CREATE TABLE user_settings (
  user_name text COLLATE "C" PRIMARY KEY,
  settings jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per browser endpoint. position keeps insertion order (a renewed endpoint moves to the end, as
-- in the file store), which is the order maxPerUser evicts in.
CREATE TABLE push_subscriptions (
  endpoint text COLLATE "C" PRIMARY KEY,
  user_name text COLLATE "C" NOT NULL,
  keys jsonb NOT NULL,
  created_at_ms bigint NOT NULL,
  position bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX push_subscriptions_by_user ON push_subscriptions (user_name, position);

-- Deliveries that failed for good, whichever node gave up on them, in the order they were recorded.
CREATE TABLE dead_letters (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at_ms bigint NOT NULL,
  letter jsonb NOT NULL
);

-- Which devices Home Assistant was last told about; a save replaces the whole set.
CREATE TABLE discovery_state (
  device_id text COLLATE "C" PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('announced', 'withdrawn'))
);

-- Chunk bodies of a clip, whichever node received them: a clip whose upload moved to another node in a
-- failover is reassembled from all of them. Kept after verification; the clip is served from these rows.
CREATE TABLE clip_chunks (
  device_id text COLLATE "C" NOT NULL,
  clip_id text COLLATE "C" NOT NULL,
  offset_bytes bigint NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (device_id, clip_id, offset_bytes)
);
-- MP4 does not compress: storing chunks uncompressed saves the attempt on every write.
ALTER TABLE clip_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- A clip whose chunks matched its manifest (size and sha256): it is final, later chunks change nothing.
CREATE TABLE clip_bodies (
  device_id text COLLATE "C" NOT NULL,
  clip_id text COLLATE "C" NOT NULL,
  size_bytes bigint NOT NULL,
  sha256 text NOT NULL,
  verified_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_id, clip_id)
);
