/**
 * Production behaviour on a real Postgres (127.0.0.1:5432): freshness across instances within a
 * second, surviving the database going away, negative caching, schema checks, a read-only role,
 * and a read replica URL.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { loadConfig } from "../src/config.ts";
import { ContractLoader } from "../src/contracts/loader.ts";
import { Metrics } from "../src/http/metrics.ts";
import { startServer } from "../src/server.ts";
import { openStore } from "../src/store/open.ts";
import type { PostgresStore } from "../src/store/postgres.ts";
import { createTempDatabase, type TempDatabase } from "./_pg.ts";
import { startProxy } from "./_proxy.ts";
import { startTestServer, type TestServer } from "./_server.ts";

const version = (v: string) => `export function get() { return { v: "${v}" }; }`;

async function migratedDatabase(): Promise<TempDatabase> {
  const db = await createTempDatabase();
  const store = await openStore(loadConfig({ DATABASE_URL: db.url }));
  await store.migrate();
  await store.close();
  return db;
}

/** Polls `check` until it returns true; returns the milliseconds it took. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`Condition not met within ${ms} ms`);
}

async function withSql<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Writes version two of a contract straight into the table, as another deployer would. */
function deployVersionTwo(url: string, id: string): Promise<unknown> {
  return withSql(
    url,
    (sql) =>
      sql`UPDATE contracts SET source = ${
        version("two")
      }, code_hash = 'h2', version = 2 WHERE id = ${id}`,
  );
}

Deno.test("two instances serve updated code and stop serving deactivated contracts within 1 s", async () => {
  const db = await migratedDatabase();
  const servers: TestServer[] = [];
  try {
    // A long re-check interval proves the change arrives by NOTIFY, not by polling.
    const env = { DATABASE_URL: db.url, CONTRACT_RECHECK_MS: "600000" };
    servers.push(await startTestServer(env), await startTestServer(env));
    await servers[0].deploy("fresh", version("one"));
    for (const s of servers) assert.deepEqual((await s.json("/fresh")).body, { v: "one" });

    await deployVersionTwo(db.url, "fresh");
    for (const s of servers) {
      await within(1000, async () => (await s.json("/fresh")).body.v === "two");
    }

    await withSql(db.url, (sql) => sql`UPDATE contracts SET is_active = false WHERE id = 'fresh'`);
    for (const s of servers) {
      await within(1000, async () => (await s.json("/fresh")).status === 404);
    }
  } finally {
    for (const s of servers) await s.close();
    await db.drop();
  }
});

Deno.test("a lookup that a change overtakes is used once, not cached", async () => {
  const db = await migratedDatabase();
  const config = loadConfig({ DATABASE_URL: db.url, CONTRACT_RECHECK_MS: "600000" });
  const store = await openStore(config);
  // The real store, with each lookup held back after it has read its row, so that a deploy
  // can commit (and be notified) while the lookup is still in flight.
  let gate = Promise.withResolvers<void>();
  const slow = new Proxy(store, {
    get(target, key) {
      if (key === "findContract") {
        return async (idOrName: string) => {
          const row = await target.findContract(idOrName);
          await gate.promise;
          return row;
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const metrics = new Metrics();
  const loader = new ContractLoader(slow, config, metrics);
  try {
    await loader.start();
    await store.deployContract({
      id: "racy",
      name: "racy",
      owner: "usr_test",
      source: version("one"),
    });
    const first = loader.load("racy");
    await new Promise((r) => setTimeout(r, 100)); // the lookup has read version one
    await deployVersionTwo(db.url, "racy");
    await within(2000, async () => (await metrics.invalidations.get()).values.length > 0);
    gate.resolve();
    assert.equal((await first).row.version, 1);
    gate = Promise.withResolvers<void>();
    gate.resolve();
    assert.equal((await loader.load("racy")).row.version, 2, "the overtaken row was cached");
  } finally {
    await loader.stop();
    await store.close();
    await db.drop();
  }
});

Deno.test("a database error in a host call reaches the log, not the contract", async () => {
  const db = await migratedDatabase();
  const server = await startTestServer({ DATABASE_URL: db.url });
  try {
    await server.deploy(
      "reader",
      `import { kv } from "tana:kv";
      export async function get() {
        try { return { value: await kv.get("k") }; } catch (e) { return { name: e.name, message: e.message }; }
      }`,
    );
    await withSql(db.url, (sql) => sql`DROP TABLE kv`);
    const res = await server.json("/reader");
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { name: "Error", message: "Host call kv.get failed" });
  } finally {
    await server.close();
    await db.drop();
  }
});

Deno.test("two names for the same code share one compilation", async () => {
  const server = await startTestServer({}, "postgres");
  try {
    await server.deploy("first", version("same"));
    await server.deploy("second", version("same"));
    const misses = async () =>
      (await server.metric('tana_edge_compile_cache_total{result="miss"}')) || 0;
    const before = await misses();
    assert.equal((await server.json("/first")).body.v, "same");
    assert.equal((await server.json("/second")).body.v, "same");
    assert.equal(await misses(), before + 1);
  } finally {
    await server.close();
  }
});

Deno.test("a flood of unknown ids causes a bounded number of queries", async () => {
  const server = await startTestServer({ NEGATIVE_CACHE_TTL_MS: "5000" }, "postgres");
  try {
    const store = server.store as PostgresStore;
    const before = store.queryCount;
    const ids = Array.from({ length: 10 }, (_, i) => `missing-${i}`);
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => server.json(`/${ids[i % ids.length]}`)),
      );
      assert.ok(results.every((r) => r.status === 404));
    }
    const queries = store.queryCount - before;
    // 500 requests over 10 ids: one lookup per id (concurrent first requests may race).
    assert.ok(queries <= 30, `expected at most 30 queries, saw ${queries}`);
  } finally {
    await server.close();
  }
});

Deno.test("requests shed for lack of capacity cost the store no reads", async () => {
  const server = await startTestServer({
    SANDBOX_PROCESSES: "1",
    SANDBOX_CONCURRENCY: "1",
    QUEUE_SIZE: "0",
  }, "postgres");
  try {
    const store = server.store as PostgresStore;
    await server.deploy(
      "hold",
      `export async function get() { await new Promise((r) => setTimeout(r, 3000)); return 1; }`,
    );
    await server.deploy(
      "chain",
      `import { block } from "tana:block";
      export async function get() { return (await block.getLatestBlock())?.height ?? null; }`,
    );
    assert.equal((await server.json("/chain")).status, 200); // its row is now cached
    await server.deploy("cold", `export function get() { return 1; }`); // its row is not
    const holding = server.json("/hold");
    while (server.supervisor.capacity().inFlight === 0) await new Promise((r) => setTimeout(r, 10));
    const before = store.queryCount;
    const shed = await Promise.all(
      Array.from({ length: 20 }, (_, i) => server.json(i % 4 ? "/chain" : "/cold")),
    );
    const queries = store.queryCount - before;
    assert.ok(shed.every((r) => r.status === 503 && r.body.code === "overloaded"));
    assert.equal(queries, 0, `shed requests made ${queries} store queries`);
    assert.equal((await holding).status, 200);
  } finally {
    await server.close();
  }
});

Deno.test("the server survives Postgres going away and recovers by itself", async () => {
  const db = await migratedDatabase();
  const dbUrl = new URL(db.url);
  const proxy = startProxy({ hostname: "127.0.0.1", port: Number(dbUrl.port || 5432) });
  const viaProxy = new URL(db.url);
  viaProxy.port = String(proxy.port);
  let streaming = false;
  let stream: Promise<void> = Promise.resolve();
  const server = await startTestServer({
    DATABASE_URL: viaProxy.href,
    DB_CONNECT_TIMEOUT_MS: "500",
    CONTRACT_RECHECK_MS: "600000",
  });
  try {
    await server.deploy("cached", version("before"));
    await server.deploy(
      "reader",
      `import { kv } from "tana:kv"; export async function get() { return { v: await kv.get("k") }; }`,
    );
    await new Promise((r) => setTimeout(r, 300)); // let the deploy notifications arrive
    assert.equal((await server.json("/cached")).body.v, "before");
    assert.equal((await server.json("/reader")).status, 200);

    // A stream of requests runs through the whole outage: every answer is a 200 or a 503.
    streaming = true;
    const statuses = new Map<number, number>();
    stream = (async () => {
      while (streaming) {
        for (const path of ["/reader", "/cached"]) {
          const { status } = await server.json(path);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }
    })();

    proxy.cut();
    // Requests that need the store fail fast with 503; compiled, cached contracts keep working.
    const started = Date.now();
    const reader = await server.json("/reader");
    assert.equal(reader.status, 503);
    assert.equal(reader.body.code, "store_unavailable");
    assert.equal(reader.headers.get("retry-after"), "1");
    const unknown = await server.json("/never-seen");
    assert.equal(unknown.status, 503);
    assert.equal(unknown.body.code, "store_unavailable");
    assert.ok(Date.now() - started < 3000, "store failures must be fast");
    const cached = await server.json("/cached");
    assert.equal(cached.body.v, "before", JSON.stringify(cached.body));
    assert.equal((await server.json("/ready")).status, 503);
    assert.equal((await server.json("/health")).status, 200);

    // A change made while this server could not hear about it.
    await withSql(
      db.url,
      (sql) =>
        sql`UPDATE contracts SET source = ${
          version("after")
        }, code_hash = 'h-after' WHERE id = 'cached'`,
    );

    await new Promise((r) => setTimeout(r, 3000)); // a real outage, longer than any probe
    proxy.restore();
    const took = await within(5000, async () => {
      const states = [
        (await server.json("/ready")).status,
        (await server.json("/cached")).body.v,
        (await server.json("/reader")).status,
      ];
      return states[0] === 200 && states[1] === "after" && states[2] === 200;
    });
    console.log(`recovered in ${took} ms`);
    streaming = false;
    await stream;
    assert.deepEqual([...statuses.keys()].filter((s) => s !== 200 && s !== 503), []);
    assert.ok((statuses.get(503) ?? 0) > 0 && (statuses.get(200) ?? 0) > 0);
  } finally {
    streaming = false;
    await stream.catch(() => {});
    await server.close();
    proxy.close();
    await db.drop();
  }
});

Deno.test("the server refuses a schema older than it needs, naming the migrate command", async () => {
  const db = await createTempDatabase();
  try {
    await assert.rejects(
      () => startServer(loadConfig({ DATABASE_URL: db.url, PORT: "0" })),
      /deno task migrate/,
    );
  } finally {
    await db.drop();
  }
});

Deno.test("a wrong database URL stops start-up with a clear error", async () => {
  await assert.rejects(
    () =>
      startServer(loadConfig({
        DATABASE_URL: "postgres://root@127.0.0.1:1/nothing",
        DB_CONNECT_TIMEOUT_MS: "500",
        PORT: "0",
      })),
    /Cannot reach the database/,
  );
});

Deno.test("a read-only role can do everything the edge needs and nothing else", async () => {
  const db = await migratedDatabase();
  const role = `tana_edge_ro_${crypto.randomUUID().slice(0, 8)}`;
  let server: TestServer | null = null;
  try {
    await withSql(db.url, async (sql) => {
      const source = await Deno.readTextFile(
        new URL("../sql/postgres/read_only_role.sql", import.meta.url),
      );
      await sql.unsafe(
        source.replaceAll("tana_edge_ro", role).replaceAll(':"database"', `"${db.name}"`),
      );
      await sql`INSERT INTO contracts (id, name, owner, source, version, code_hash, is_active)
        VALUES ('ro', 'ro', 'usr_x', ${`import { kv } from "tana:kv";
          export async function get() { return { v: await kv.get("k") }; }`}, 1, 'h1', true)`;
      await sql`INSERT INTO kv (contract_id, key, value) VALUES ('ro', 'k', 'read-only works')`;
    });
    const roUrl = new URL(db.url);
    roUrl.username = role;
    server = await startTestServer({ DATABASE_URL: roUrl.href });
    assert.deepEqual((await server.json("/ro")).body, { v: "read-only works" });
    assert.equal((await server.json("/ready")).status, 200);
    // Notifications reach the read-only role too.
    await withSql(db.url, (sql) => sql`UPDATE kv SET value = 'changed' WHERE contract_id = 'ro'`);
    assert.deepEqual((await server.json("/ro")).body, { v: "changed" });
    await withSql(
      db.url,
      (sql) =>
        sql`UPDATE contracts SET source = 'export function get() { return 2; }', code_hash = 'h2' WHERE id = 'ro'`,
    );
    await within(1000, async () => (await server!.json("/ro")).body === 2);
    // …and it cannot write anything.
    await withSql(roUrl.href, async (sql) => {
      await assert.rejects(
        () => sql`INSERT INTO kv (contract_id, key, value) VALUES ('ro', 'x', 'y')`,
        /permission denied/,
      );
      await assert.rejects(() => sql`UPDATE contracts SET is_active = false`, /permission denied/);
      await assert.rejects(() => sql`DELETE FROM blocks`, /permission denied/);
      await assert.rejects(() => sql`CREATE TABLE evil (x int)`, /permission denied/);
    });
  } finally {
    await server?.close();
    await db.drop();
    await withSql(
      new URL("postgres://root@127.0.0.1:5432/postgres").href,
      (sql) => sql.unsafe(`DROP ROLE IF EXISTS "${role}"`),
    ).catch(() => {});
  }
});

Deno.test("reads go to DATABASE_READ_URL while contracts and notifications come from the primary", async () => {
  const primary = await migratedDatabase();
  const replica = await migratedDatabase();
  const server = await startTestServer({
    DATABASE_URL: primary.url,
    DATABASE_READ_URL: replica.url,
  });
  try {
    const reader =
      `import { kv } from "tana:kv"; export async function get() { return { v: await kv.get("k") }; }`;
    await server.deploy("rr", reader);
    await withSql(
      primary.url,
      (sql) => sql`INSERT INTO kv (contract_id, key, value) VALUES ('rr', 'k', 'primary')`,
    );
    await withSql(
      replica.url,
      (sql) => sql`INSERT INTO kv (contract_id, key, value) VALUES ('rr', 'k', 'replica')`,
    );
    assert.deepEqual((await server.json("/rr")).body, { v: "replica" });
  } finally {
    await server.close();
    await primary.drop();
    await replica.drop();
  }
});
