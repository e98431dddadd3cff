/**
 * Test helper: a real tana-edge server on a free port, with real sandbox processes and a real
 * store (a fresh SQLite file, or a throwaway Postgres database on 127.0.0.1:5432).
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import postgres from "postgres";
import { loadConfig } from "../src/config.ts";
import { type RunningServer, startServer } from "../src/server.ts";
import { openStore } from "../src/store/open.ts";
import type { ContractRow } from "../src/store/types.ts";
import { createTempDatabase } from "./_pg.ts";

/** The stores every end-to-end suite runs against. */
export const STORES = ["sqlite", "postgres"] as const;

/** A server for one test file. */
export interface TestServer extends RunningServer {
  /** The database URL (Postgres) or file path (SQLite) behind the server. */
  database: string;
  /** Deploys a contract from source. */
  deploy(
    id: string,
    source: string,
    opts?: { name?: string; owner?: string; isActive?: boolean },
  ): Promise<ContractRow>;
  /** Writes KV rows directly into the database, as the ledger would. */
  putKv(contractId: string, entries: Record<string, string | [string, unknown]>): Promise<void>;
  /** Runs SQL against the server's database (Postgres `$1` or SQLite `?` placeholders). */
  sql(query: string, ...params: (string | number | null)[]): Promise<void>;
  /** `fetch` relative to the server. */
  get(path: string, init?: RequestInit): Promise<Response>;
  /**
   * A sample's value in `/metrics`, by its name with labels as exported (`name{le="0.1"}`); NaN
   * when it is not there.
   */
  metric(sample: string): Promise<number>;
  /** Fetches `path` and parses the JSON body, returning status, headers and body. */
  // deno-lint-ignore no-explicit-any
  json(path: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: any }>;
  /** Stops the server and removes its data. */
  close(): Promise<void>;
}

/**
 * Starts a server for tests.
 *
 * @param env configuration variables on top of test defaults (port 0, one sandbox, temp data)
 * @param kind which store: a fresh SQLite file (default) or a fresh, migrated Postgres database;
 *   an explicit `DATABASE_URL` in `env` is used as it is
 */
export async function startTestServer(
  env: Record<string, string> = {},
  kind: "sqlite" | "postgres" = "sqlite",
): Promise<TestServer> {
  const dataDir = await Deno.makeTempDir({ prefix: "tana-edge-test-" });
  // An explicit DATABASE_URL is used as it is (already migrated, dropped by its owner).
  const pg = env.DATABASE_URL
    ? { url: env.DATABASE_URL, drop: () => Promise.resolve() }
    : kind === "postgres"
    ? await createTempDatabase()
    : null;
  const vars: Record<string, string> = {
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    SANDBOX_PROCESSES: "1",
    SANDBOX_POOL_SIZE: "2",
    ...(pg ? { DATABASE_URL: pg.url } : {}),
    ...env,
  };
  if (pg && !env.DATABASE_URL) {
    const store = await openStore(loadConfig(vars));
    await store.migrate();
    await store.close();
  }
  let server: RunningServer;
  try {
    server = await startServer(loadConfig(vars));
  } catch (error) {
    await pg?.drop();
    throw error;
  }
  const database = pg ? pg.url : `${dataDir}/tana-edge.db`;
  const sql = async (query: string, ...params: (string | number | null)[]) => {
    if (pg) {
      const client = postgres(pg.url, { max: 1, onnotice: () => {} });
      try {
        await client.unsafe(query, params);
      } finally {
        await client.end();
      }
    } else {
      const db = new DatabaseSync(database);
      try {
        db.prepare(query.replace(/\$\d+/g, "?")).run(...params);
      } finally {
        db.close();
      }
    }
  };
  return {
    ...server,
    database,
    deploy: (id, source, opts = {}) =>
      server.store.deployContract({
        id,
        name: opts.name ?? id,
        owner: opts.owner ?? "usr_test",
        source,
        isActive: opts.isActive,
      }),
    async putKv(contractId, entries) {
      for (const [key, entry] of Object.entries(entries)) {
        const [value, metadata] = typeof entry === "string" ? [entry, null] : entry;
        await sql(
          "INSERT INTO kv (contract_id, key, value, metadata) VALUES ($1, $2, $3, $4) " +
            "ON CONFLICT (contract_id, key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata",
          contractId,
          key,
          value,
          metadata === null ? null : JSON.stringify(metadata),
        );
      }
    },
    sql,
    get: (path, init) => fetch(server.url + path, init),
    async metric(sample) {
      const text = await (await fetch(server.url + "/metrics")).text();
      const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
      return line === undefined ? NaN : Number(line.slice(sample.length + 1));
    },
    async json(path, init) {
      const res = await fetch(server.url + path, init);
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, headers: res.headers, body };
    },
    async close() {
      await server.shutdown();
      await pg?.drop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}
