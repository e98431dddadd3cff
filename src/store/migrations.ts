/**
 * The schema migrations, embedded as text so a compiled binary carries them.
 *
 * Each migration has one number for both databases; a migration that only one database needs
 * has an empty script for the other, so `schema_migrations` means the same thing in both.
 *
 * @module
 */

import pg001 from "../../sql/postgres/001_init.sql" with { type: "text" };
import pg002 from "../../sql/postgres/002_contract_notify.sql" with { type: "text" };
import lite001 from "../../sql/sqlite/001_init.sql" with { type: "text" };

/** One numbered migration with its script for each database (`""` when not needed). */
export interface Migration {
  /** Recorded in `schema_migrations.version`; strictly increasing. */
  version: number;
  /** Recorded in `schema_migrations.name`, e.g. `001_init`. */
  name: string;
  /** Postgres script (may hold several statements). */
  postgres: string;
  /** SQLite script (may hold several statements). */
  sqlite: string;
}

/** Every migration, in the order they are applied. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "001_init", postgres: pg001, sqlite: lite001 },
  { version: 2, name: "002_contract_notify", postgres: pg002, sqlite: "" },
];

/** The schema version this build needs; an older database must be migrated first. */
export const REQUIRED_SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1].version;
