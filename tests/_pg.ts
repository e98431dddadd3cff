/**
 * Throwaway Postgres databases for tests: a random name on the local server, dropped after.
 *
 * The server comes from `TEST_PG_ADMIN_URL` (default `postgres://root@127.0.0.1:5432/postgres`,
 * trust auth); the user needs `CREATEDB`.
 *
 * @module
 */

import postgres from "postgres";

/** URL of a database on the test server that temp databases are created from. */
export const ADMIN_URL: string = Deno.env.get("TEST_PG_ADMIN_URL") ??
  "postgres://root@127.0.0.1:5432/postgres";

/** A database created for one test. */
export interface TempDatabase {
  /** Connection URL of the new database. */
  url: string;
  /** Its name. */
  name: string;
  /** Drops it, ending any connections still open to it. */
  drop(): Promise<void>;
}

async function _admin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(ADMIN_URL, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * Creates an empty database with a random name.
 *
 * @returns its URL and a `drop()` function
 */
export async function createTempDatabase(): Promise<TempDatabase> {
  const name = `tana_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  await _admin((sql) => sql.unsafe(`CREATE DATABASE "${name}"`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.href,
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      await _admin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/**
 * Runs `fn` with the URL of a fresh database and drops the database afterwards.
 *
 * @example
 * ```ts ignore
 * await withTempDatabase(async (url) => { ... });
 * ```
 */
export async function withTempDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const db = await createTempDatabase();
  try {
    return await fn(db.url);
  } finally {
    await db.drop();
  }
}
