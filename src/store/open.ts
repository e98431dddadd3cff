/**
 * Picks and opens the store the configuration asks for, and checks its schema.
 *
 * @module
 */

import type { Config } from "../config.ts";
import { REQUIRED_SCHEMA_VERSION } from "./migrations.ts";
import { PostgresStore } from "./postgres.ts";
import { SqliteStore } from "./sqlite.ts";
import type { Store } from "./types.ts";

/** Raised when the store cannot be used at start-up; the message says what to do. */
export class StoreOpenError extends Error {
  /**
   * Creates the error.
   *
   * @param message what is wrong and how to fix it
   * @param cause the underlying error, if any
   */
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = "StoreOpenError";
  }
}

/**
 * Opens Postgres when `config.databaseUrl` is set, else SQLite at `${dataDir}/tana-edge.db`,
 * and checks that the database answers. Does not migrate or check the schema (the
 * `migrate` command opens a store to do exactly that); call {@link checkSchema} to serve.
 *
 * @param config the server configuration
 * @returns an open store
 * @throws {StoreOpenError} naming the database when it cannot be reached
 *
 * @example
 * ```ts ignore
 * const store = await openStore(loadConfig());
 * await checkSchema(store);
 * ```
 */
export async function openStore(config: Config): Promise<Store> {
  let store: Store;
  try {
    store = config.databaseUrl
      ? PostgresStore.fromConfig(config)
      : await SqliteStore.open(config.dataDir);
  } catch (err) {
    const where = config.databaseUrl ? "the Postgres database" : `SQLite in ${config.dataDir}`;
    throw new StoreOpenError(`Cannot open ${where}: ${_reason(err)}`, err);
  }
  try {
    await store.ping();
  } catch (err) {
    await store.close().catch(() => {});
    throw new StoreOpenError(
      `Cannot reach the database at ${store.location}: ${_reason(err)}`,
      err,
    );
  }
  return store;
}

/**
 * Checks that the database schema is at least {@link REQUIRED_SCHEMA_VERSION}.
 *
 * @param store an open store
 * @throws {StoreOpenError} naming `deno task migrate` when the schema is missing or older
 */
export async function checkSchema(store: Store): Promise<void> {
  const version = await store.schemaVersion();
  if (version < REQUIRED_SCHEMA_VERSION) {
    const found = version === 0 ? "no schema" : `schema version ${version}`;
    throw new StoreOpenError(
      `Database at ${store.location} has ${found}, this build needs version ` +
        `${REQUIRED_SCHEMA_VERSION}: run \`deno task migrate\` first`,
    );
  }
}

/** The most useful message of an error chain: the driver's, not our 503 wrapper's. */
function _reason(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.name === "StoreUnavailableError" && e.cause) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
