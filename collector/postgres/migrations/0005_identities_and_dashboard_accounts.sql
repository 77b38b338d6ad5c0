-- Who may connect and who may sign in, shared by every node of a fleet: devices and service users (the
-- identity registry), homeowners (dashboard accounts) and their dashboard sessions.

-- Devices and service users in one table, so that one primary key keeps them in one namespace (a service
-- user's client id `<name>:<anything>` must never take over a device's session). A removed identity stays
-- as a row with is_removed set, so that nodes reading the changes since their last revision learn of the
-- removal; adding the name again reuses the row.
CREATE TABLE identities (
  name text COLLATE "C" PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('device', 'service')),
  secret_hash text NOT NULL,
  is_disabled boolean NOT NULL DEFAULT false,
  is_removed boolean NOT NULL DEFAULT false,
  -- ISO times as the registry hands them out; a credential is named after them.
  created_at text NOT NULL,
  rotated_at text,
  -- The registry revision of the row's last change: nodes read the rows changed since their last read.
  revision bigint NOT NULL
);
CREATE INDEX identities_revision ON identities (revision);

-- One row: the registry's revision. Every change takes this row's lock first and raises it, so changes
-- commit in revision order and a node that has read revision R has seen every change up to R.
CREATE TABLE identity_revision (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  revision bigint NOT NULL
);
INSERT INTO identity_revision (only_row, revision) VALUES (true, 0);

-- Dashboard accounts; position keeps the order they were added in (the listing order).
CREATE TABLE homeowners (
  name text COLLATE "C" PRIMARY KEY,
  position bigserial NOT NULL,
  role text NOT NULL CHECK (role IN ('owner', 'viewer')),
  password_hash text NOT NULL,
  created_at text NOT NULL,
  password_changed_at text
);

-- Dashboard sessions by the hash of their cookie token (never the token), so a browser signed in through
-- one node is signed in on every node.
CREATE TABLE dashboard_sessions (
  token_hash text COLLATE "C" PRIMARY KEY,
  user_name text NOT NULL,
  role text NOT NULL CHECK (role IN ('owner', 'viewer')),
  csrf_token text NOT NULL,
  created_at_ms bigint NOT NULL,
  expires_at_ms bigint NOT NULL
);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at_ms);
