-- A minimal read-only role for tana-edge. Not a migration: run it once as an administrator,
--   psql -v database=ledger -f sql/postgres/read_only_role.sql
-- then set DATABASE_URL=postgres://tana_edge_ro:PASSWORD@host/ledger for the edge.
-- The edge only reads these tables and LISTENs on the tana_contracts channel (LISTEN needs no
-- grant). Migrations and `contracts deploy` need a role that can write.
CREATE ROLE tana_edge_ro LOGIN; -- add PASSWORD '…' where the server does not use trust auth
GRANT CONNECT ON DATABASE :"database" TO tana_edge_ro;
GRANT USAGE ON SCHEMA public TO tana_edge_ro;
GRANT SELECT ON contracts, kv, blocks, users, balances, transactions, schema_migrations
  TO tana_edge_ro;
