-- Core schema of the ledger tables tana-edge reads. Idempotent: safe to run twice.
-- Times of contracts are ISO-8601 text; chain times are milliseconds since the epoch.

CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE IF NOT EXISTS contracts (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  owner TEXT NOT NULL,
  source TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  code_hash TEXT NOT NULL,
  is_active INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- WITHOUT ROWID: the primary key is the only access path, so store rows in key order.
CREATE TABLE IF NOT EXISTS kv (
  contract_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  metadata TEXT,
  PRIMARY KEY (contract_id, key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS blocks (
  height INTEGER PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  previous_hash TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  producer TEXT NOT NULL,
  gas_limit INTEGER NOT NULL DEFAULT 0,
  gas_used INTEGER NOT NULL DEFAULT 0,
  tx_count INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  public_key TEXT,
  created_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS balances (
  user_id TEXT NOT NULL,
  currency_code TEXT NOT NULL,
  amount REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, currency_code)
);

CREATE TABLE IF NOT EXISTS transactions (
  id TEXT PRIMARY KEY,
  from_id TEXT,
  to_id TEXT,
  amount REAL NOT NULL,
  currency_code TEXT NOT NULL,
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  block_height INTEGER,
  timestamp INTEGER NOT NULL,
  contract_id TEXT
);
