-- Core schema of the ledger tables tana-edge reads. Idempotent: safe to run twice.

CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS contracts (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  owner text NOT NULL,
  source text NOT NULL,
  version integer NOT NULL DEFAULT 1,
  code_hash text NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- COLLATE "C" so key order is byte (code point) order, the same as SQLite's BINARY order,
-- whatever the database's default collation is.
CREATE TABLE IF NOT EXISTS kv (
  contract_id text NOT NULL,
  key text COLLATE "C" NOT NULL,
  value text NOT NULL,
  metadata text,
  PRIMARY KEY (contract_id, key)
);

CREATE TABLE IF NOT EXISTS blocks (
  height bigint PRIMARY KEY,
  hash text NOT NULL UNIQUE,
  previous_hash text NOT NULL,
  timestamp bigint NOT NULL,
  producer text NOT NULL,
  gas_limit bigint NOT NULL DEFAULT 0,
  gas_used bigint NOT NULL DEFAULT 0,
  tx_count integer NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS users (
  id text PRIMARY KEY,
  username text NOT NULL UNIQUE,
  display_name text NOT NULL,
  public_key text,
  created_at bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS balances (
  user_id text NOT NULL,
  currency_code text NOT NULL,
  amount numeric NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, currency_code)
);

CREATE TABLE IF NOT EXISTS transactions (
  id text PRIMARY KEY,
  from_id text,
  to_id text,
  amount numeric NOT NULL,
  currency_code text NOT NULL,
  type text NOT NULL,
  status text NOT NULL,
  block_height bigint,
  timestamp bigint NOT NULL,
  contract_id text
);
