/**
 * One conformance suite for every {@link Store}: run against SQLite (temp dir) and a
 * throwaway Postgres database, plus the few Postgres-only behaviours (NOTIFY, fail-fast).
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import postgres from "postgres";
import { StoreUnavailableError } from "../src/errors.ts";
import { REQUIRED_SCHEMA_VERSION } from "../src/store/migrations.ts";
import { checkSchema } from "../src/store/open.ts";
import { PostgresStore } from "../src/store/postgres.ts";
import { type ChainSeed, SEED, type SeedableStore, seedChain } from "../src/store/seed.ts";
import { SqliteStore } from "../src/store/sqlite.ts";
import type { ContractChange, KvListPage } from "../src/store/types.ts";
import { createTempDatabase } from "./_pg.ts";

/** A fresh, empty (unmigrated) store plus a way to run SQL behind its back. */
interface Harness {
  store: SeedableStore & { queryCount: number };
  close(): Promise<void>;
}

type Factory = () => Promise<Harness>;

const EMPTY_CHAIN: ChainSeed = { users: [], balances: [], blocks: [], transactions: [], kv: [] };

function kvOnly(
  entries: { contractId: string; key: string; value?: string; metadata?: unknown }[],
) {
  return {
    ...EMPTY_CHAIN,
    kv: entries.map((e) => ({
      contractId: e.contractId,
      key: e.key,
      value: e.value ?? `v:${e.key}`,
      metadata: e.metadata ?? null,
    })),
  };
}

/** Byte (code point) order, the order both stores promise. */
function byteOrder(a: string, b: string): number {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

async function listAll(
  store: SeedableStore,
  contractId: string,
  opts: { prefix?: string; limit?: number },
): Promise<{ names: string[]; pages: KvListPage[] }> {
  const pages: KvListPage[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.kvList(contractId, { ...opts, cursor });
    pages.push(page);
    cursor = page.cursor;
    assert.equal(page.list_complete, cursor === undefined);
    assert.ok(pages.length < 100, "kvList() never completes");
  } while (cursor !== undefined);
  return { names: pages.flatMap((p) => p.keys.map((k) => k.name)), pages };
}

/** Defines the shared tests for one implementation. */
function conformance(label: string, factory: Factory) {
  const test = (name: string, fn: (h: Harness) => Promise<void>) =>
    Deno.test(`${label} ${name}`, async () => {
      const h = await factory();
      try {
        await fn(h);
      } finally {
        await h.close();
      }
    });

  const migrated = (name: string, fn: (h: Harness) => Promise<void>) =>
    test(name, async (h) => {
      await h.store.migrate();
      await fn(h);
    });

  test("migrate() is idempotent and records versions", async ({ store }) => {
    assert.equal(await store.schemaVersion(), 0);
    await assert.rejects(checkSchema(store), /deno task migrate/);
    const first = await store.migrate();
    assert.ok(first.length >= 1);
    assert.equal(first[0], "001_init");
    assert.equal(await store.schemaVersion(), REQUIRED_SCHEMA_VERSION);
    assert.deepEqual(await store.migrate(), []);
    assert.equal(await store.schemaVersion(), REQUIRED_SCHEMA_VERSION);
    await checkSchema(store);
  });

  migrated("ping() resolves on a live store", async ({ store }) => {
    await store.ping();
  });

  migrated(
    "deployContract() hashes the source and bumps the version on change",
    async ({ store }) => {
      const source = "export function get() { return 1; }";
      const first = await store.deployContract({ id: "c1", name: "one", owner: "usr_a", source });
      assert.equal(first.codeHash, createHash("sha256").update(source).digest("hex"));
      assert.equal(first.version, 1);
      assert.equal(first.isActive, true);
      assert.ok(!Number.isNaN(Date.parse(first.createdAt)));

      const same = await store.deployContract({ id: "c1", name: "one", owner: "usr_a", source });
      assert.deepEqual(same, first);

      await new Promise((r) => setTimeout(r, 5));
      const source2 = "export function get() { return 2; }";
      const second = await store.deployContract({
        id: "c1",
        name: "one",
        owner: "usr_a",
        source: source2,
      });
      assert.equal(second.version, 2);
      assert.equal(second.source, source2);
      assert.notEqual(second.codeHash, first.codeHash);
      assert.equal(second.createdAt, first.createdAt);
      assert.ok(Date.parse(second.updatedAt) > Date.parse(first.updatedAt));
      assert.deepEqual(await store.findContract("c1"), second);
    },
  );

  migrated("findContract() matches an id before a name", async ({ store }) => {
    await store.deployContract({ id: "c1", name: "alpha", owner: "o", source: "a" });
    await store.deployContract({ id: "alpha", name: "beta", owner: "o", source: "b" });
    assert.equal((await store.findContract("alpha"))?.id, "alpha");
    assert.equal((await store.findContract("beta"))?.id, "alpha");
    assert.equal((await store.findContract("c1"))?.name, "alpha");
    assert.equal(await store.findContract("nope"), null);
    assert.deepEqual((await store.listContracts()).map((c) => c.id), ["alpha", "c1"]);
  });

  migrated("findContract() returns inactive rows", async ({ store }) => {
    const off = await store.deployContract({
      id: "c1",
      name: "one",
      owner: "o",
      source: "s",
      isActive: false,
    });
    assert.equal(off.isActive, false);
    assert.equal((await store.findContract("one"))?.isActive, false);
    const on = await store.deployContract({ id: "c1", name: "one", owner: "o", source: "s" });
    assert.equal(on.isActive, true);
    assert.equal(on.version, 1, "same code keeps its version");
  });

  migrated("kvGet() reads one contract's key with metadata", async ({ store }) => {
    await store.seed(kvOnly([
      { contractId: "a", key: "k", value: "1", metadata: { tag: "x" } },
      { contractId: "a", key: "plain", value: "2" },
      { contractId: "b", key: "secret", value: "3" },
    ]));
    assert.deepEqual(await store.kvGet("a", "k"), { value: "1", metadata: { tag: "x" } });
    assert.deepEqual(await store.kvGet("a", "plain"), { value: "2", metadata: null });
    assert.equal(await store.kvGet("a", "secret"), null);
    assert.equal(await store.kvGet("a", "missing"), null);
  });

  migrated("kvList() pages with stable cursors", async ({ store }) => {
    const keys = Array.from({ length: 25 }, (_, i) => `item:${String(i).padStart(3, "0")}`);
    await store.seed(kvOnly([
      ...keys.toReversed().map((key) => ({ contractId: "a", key })),
      { contractId: "a", key: "meta", metadata: { n: 1 } },
      { contractId: "b", key: "item:999" },
    ]));
    const { names, pages } = await listAll(store, "a", { prefix: "item:", limit: 10 });
    assert.deepEqual(names, keys);
    assert.deepEqual(pages.map((p) => p.keys.length), [10, 10, 5]);
    // Asking again with the same cursor gives the same page.
    const again = await store.kvList("a", { prefix: "item:", limit: 10, cursor: pages[0].cursor });
    assert.deepEqual(again, pages[1]);
    // Metadata is present only when there is some.
    const all = await store.kvList("a", {});
    assert.equal(all.list_complete, true);
    assert.equal("cursor" in all, false);
    assert.deepEqual(all.keys.find((k) => k.name === "meta"), { name: "meta", metadata: { n: 1 } });
    assert.equal("metadata" in all.keys[0], false);
    assert.equal(all.keys.length, 26, "another contract's keys are invisible");
    assert.deepEqual(await store.kvList("nobody", {}), { keys: [], list_complete: true });
  });

  migrated("kvList() clamps the limit to 1..1000", async ({ store }) => {
    const keys = Array.from({ length: 1005 }, (_, i) => `k${String(i).padStart(5, "0")}`);
    await store.seed(kvOnly(keys.map((key) => ({ contractId: "a", key }))));
    const first = await store.kvList("a", {});
    assert.equal(first.keys.length, 1000);
    assert.equal(first.list_complete, false);
    assert.equal((await store.kvList("a", { limit: 5000 })).keys.length, 1000);
    assert.equal((await store.kvList("a", { limit: 0 })).keys.length, 1);
    assert.equal((await store.kvList("a", { limit: -3 })).keys.length, 1);
    const rest = await store.kvList("a", { cursor: first.cursor });
    assert.deepEqual(rest.keys.map((k) => k.name), keys.slice(1000));
    assert.equal(rest.list_complete, true);
  });

  migrated("kvList() matches prefixes literally and in byte order", async ({ store }) => {
    const keys = [
      "a%",
      "a%b",
      "a_b",
      "axb",
      "ab",
      "a\\b",
      "a",
      "b%",
      "é",
      "éa",
      "e",
      "z",
      "\u{1F600}",
    ];
    await store.seed(kvOnly(keys.map((key) => ({ contractId: "a", key }))));
    const list = async (prefix: string) => (await listAll(store, "a", { prefix, limit: 2 })).names;
    assert.deepEqual(await list("a%"), ["a%", "a%b"]);
    assert.deepEqual(await list("a_"), ["a_b"]);
    assert.deepEqual(await list("a\\"), ["a\\b"]);
    assert.deepEqual(await list("é"), ["é", "éa"]);
    assert.deepEqual(await list("%"), []);
    assert.deepEqual(await list(""), keys.toSorted(byteOrder));
    assert.deepEqual(await list("a"), keys.filter((k) => k.startsWith("a")).sort(byteOrder));
  });

  migrated("kvList() rejects a cursor it did not make", async ({ store }) => {
    await assert.rejects(store.kvList("a", { cursor: "not a cursor!" }), TypeError);
  });

  migrated("chain reads keep the order asked, with null or 0 for misses", async ({ store }) => {
    assert.equal(await store.latestBlock(), null);
    assert.equal(await seedChain(store), true);
    assert.equal(await seedChain(store), false, "seeding twice is a no-op");

    assert.deepEqual(await store.latestBlock(), SEED.blocks[5]);
    const before = store.queryCount;
    assert.deepEqual(await store.getBlocks([5, 99, 0, 2.5]), [
      SEED.blocks[5],
      null,
      SEED.blocks[0],
      null,
    ]);
    const [alice, bob] = SEED.users;
    assert.deepEqual(await store.getUsers(["bob", "usr_alice", "ghost", "alice"]), [
      bob,
      alice,
      null,
      alice,
    ]);
    assert.deepEqual(await store.getBalances(["usr_carol", "usr_alice", "ghost"], "TANA"), [
      0,
      900,
      0,
    ]);
    assert.deepEqual(await store.getBalances(["usr_alice"], "USD"), [1250.5]);
    const pending = SEED.transactions.find((t) => t.blockHeight === null)!;
    assert.deepEqual(await store.getTransactions([pending.id, "tx_nope", "tx_0001"]), [
      pending,
      null,
      SEED.transactions[0],
    ]);
    assert.equal(store.queryCount - before, 5, "one query per batch call");
    assert.deepEqual(await store.getBlocks([]), []);
    assert.deepEqual(await store.getUsers([]), []);
    assert.deepEqual(await store.getBalances([], "USD"), []);
    assert.deepEqual(await store.getTransactions([]), []);
    assert.equal(store.queryCount - before, 5, "empty batches do not query");
  });

  migrated("seed data forms a chain", async ({ store }) => {
    await seedChain(store);
    const blocks = await store.getBlocks(SEED.blocks.map((b) => b.height));
    for (let i = 1; i < blocks.length; i++) {
      assert.equal(blocks[i]!.previousHash, blocks[i - 1]!.hash);
      assert.ok(blocks[i]!.timestamp > blocks[i - 1]!.timestamp);
    }
    assert.deepEqual(await store.kvGet("counter", "count"), { value: "42", metadata: null });
    const users = await store.kvList("kv-demo", { prefix: "user:" });
    assert.ok(users.keys.length >= 2);
  });
}

conformance("SqliteStore", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tana-store-" });
  const store = await SqliteStore.open(dir);
  return {
    store,
    async close() {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
});

conformance("PostgresStore", async () => {
  const db = await createTempDatabase();
  const store = new PostgresStore({ url: db.url, poolMax: 2 });
  return {
    store,
    async close() {
      await store.close();
      await db.drop();
    },
  };
});

Deno.test("SqliteStore contractsRevision() moves on any connection's commit, not on reads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tana-store-" });
  const store = await SqliteStore.open(dir);
  const other = await SqliteStore.open(dir);
  try {
    await store.migrate();
    const start = store.contractsRevision();
    await store.findContract("c1");
    await store.kvGet("c1", "k");
    assert.equal(store.contractsRevision(), start, "reads change nothing");
    await other.deployContract({ id: "c1", name: "one", owner: "o", source: "s" });
    const afterOther = store.contractsRevision();
    assert.notEqual(afterOther, start, "another connection's deploy");
    await store.deployContract({ id: "c1", name: "one", owner: "o", source: "t" });
    assert.notEqual(store.contractsRevision(), afterOther, "this connection's own deploy");
    const same = store.contractsRevision();
    await store.deployContract({ id: "c1", name: "one", owner: "o", source: "t" });
    assert.equal(store.contractsRevision(), same, "an identical deploy writes nothing");
  } finally {
    await other.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs `fn` with a migrated store on a fresh database and a plain client to the same. */
async function withPostgres(fn: (store: PostgresStore, sql: postgres.Sql) => Promise<void>) {
  const db = await createTempDatabase();
  const store = new PostgresStore({ url: db.url, poolMax: 2 });
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    await store.migrate();
    await fn(store, sql);
  } finally {
    await sql.end({ timeout: 1 });
    await store.close();
    await db.drop();
  }
}

function waitFor<T>(items: T[], pred: (x: T) => boolean, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      const hit = items.find(pred);
      if (hit !== undefined) return resolve(hit);
      if (Date.now() - started > ms) return reject(new Error(`Nothing matched within ${ms} ms`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

Deno.test("PostgresStore watchContracts() hears a plain SQL update within 1 s", async () => {
  await withPostgres(async (store, sql) => {
    await store.deployContract({ id: "c1", name: "one", owner: "o", source: "s" });
    const changes: ContractChange[] = [];
    const stop = await store.watchContracts((c) => changes.push(c));
    try {
      await waitFor(changes, (c) => c.id === null, 1000); // the initial "re-validate all"
      await sql`UPDATE contracts SET source = 'changed', code_hash = 'x' WHERE id = 'c1'`;
      assert.deepEqual(await waitFor(changes, (c) => c.id === "c1", 1000), {
        id: "c1",
        name: "one",
      });
      await sql`DELETE FROM contracts WHERE id = 'c1'`;
      await sql`INSERT INTO contracts (id, name, owner, source, code_hash) VALUES ('c2', 'two', 'o', 's', 'h')`;
      await waitFor(changes, (c) => c.id === "c2", 1000);
      assert.equal(changes.filter((c) => c.id === "c1").length, 2);
    } finally {
      await stop();
    }
    const count = changes.length;
    await sql`UPDATE contracts SET owner = 'p' WHERE id = 'c2'`;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(changes.length, count, "nothing arrives after unsubscribe");
  });
});

Deno.test("PostgresStore watchContracts() asks for a full re-check after reconnecting", async () => {
  await withPostgres(async (store, sql) => {
    const changes: ContractChange[] = [];
    const stop = await store.watchContracts((c) => changes.push(c));
    try {
      await waitFor(changes, (c) => c.id === null, 1000);
      changes.length = 0;
      const killed = await sql`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
        WHERE datname = current_database() AND query ILIKE 'listen%'`;
      assert.equal(killed.length, 1);
      await waitFor(changes, (c) => c.id === null, 5000);
      // And the new subscription works.
      await sql`INSERT INTO contracts (id, name, owner, source, code_hash) VALUES ('c3', 'three', 'o', 's', 'h')`;
      await waitFor(changes, (c) => c.id === "c3", 1000);
    } finally {
      await stop();
    }
  });
});

Deno.test("PostgresStore fails fast with StoreUnavailableError when the database is down", async () => {
  const store = new PostgresStore({
    url: "postgres://root@127.0.0.1:1/test",
    connectTimeoutMs: 1000,
  });
  try {
    for (
      const call of [() => store.ping(), () => store.kvGet("a", "b"), () => store.getUsers(["x"])]
    ) {
      const started = performance.now();
      await assert.rejects(call(), StoreUnavailableError);
      assert.ok(performance.now() - started < 1500, "failed within the connect timeout");
    }
    await assert.rejects(store.watchContracts(() => {}), StoreUnavailableError);
  } finally {
    await store.close();
  }
});

Deno.test("PostgresStore recovers after the server kills its connections", async () => {
  // postgres.js 3.4.9 can leave a killed pooled connection unable to reconnect (every
  // attempt ends in CONNECT_TIMEOUT); the store replaces the pool. Several rounds, because
  // the failure depends on timing.
  await withPostgres(async (store, sql) => {
    const [{ pid }] = await sql`SELECT pg_backend_pid() AS pid`;
    const burst = () =>
      Promise.all([store.ping(), store.findContract("x"), store.kvGet("a", "b"), store.ping()]);
    for (let round = 0; round < 4; round++) {
      await burst();
      await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> ${pid} AND query NOT ILIKE 'listen%'`;
      await burst();
      await burst();
      await new Promise((r) => setTimeout(r, 1100)); // the pool is replaced at most once a second
    }
  });
});
