/**
 * Test helper: a real tana-edge server on a free port, with real sandbox processes and a real
 * store (a fresh SQLite file, or a throwaway Postgres database).
 *
 * @module
 */
import { loadConfig } from "../src/config.ts";
import { type RunningServer, startServer } from "../src/server.ts";
import type { ContractRow } from "../src/store/types.ts";

/** A server for one test file. */
export interface TestServer extends RunningServer {
  /** Deploys a contract from source. */
  deploy(
    id: string,
    source: string,
    opts?: { name?: string; owner?: string },
  ): Promise<ContractRow>;
  /** `fetch` relative to the server. */
  get(path: string, init?: RequestInit): Promise<Response>;
  /** GET `path` and parse the JSON body, returning status, headers and body. */
  // deno-lint-ignore no-explicit-any
  json(path: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: any }>;
  /** Stops the server and removes its data. */
  close(): Promise<void>;
}

/**
 * Starts a server for tests.
 *
 * @param env configuration variables on top of test defaults (port 0, one sandbox, temp data)
 */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = await Deno.makeTempDir({ prefix: "tana-edge-test-" });
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    SANDBOX_PROCESSES: "1",
    SANDBOX_POOL_SIZE: "2",
    ...env,
  });
  const server = await startServer(config);
  return {
    ...server,
    deploy: (id, source, opts = {}) =>
      server.store.deployContract({
        id,
        name: opts.name ?? id,
        owner: opts.owner ?? "usr_test",
        source,
      }),
    get: (path, init) => fetch(server.url + path, init),
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
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}
