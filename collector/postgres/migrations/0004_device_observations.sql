-- What the nodes of a fleet heard from each device, merged: every node writes what it saw (events stored,
-- status and last will), each field keeping its latest value, and every node's device-health monitor reads
-- the changes, so each sees the whole fleet's view; only the holder of the device-health lease raises alerts.
-- Times are the observing node's clock in ms since the epoch, as the monitor uses them.
CREATE TABLE device_observations (
  device_id text COLLATE "C" PRIMARY KEY,
  last_seen_ms bigint,
  health jsonb,
  last_health_ms bigint,
  presence text CHECK (presence IN ('online', 'offline')),
  presence_at_ms bigint,
  -- The database's clock at the last change: readers ask for rows changed since their last read.
  changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX device_observations_changed ON device_observations (changed_at);
