/** openStore() and checkSchema(): the start-up errors an operator sees. */

import assert from "node:assert/strict";
import { loadConfig } from "../src/config.ts";
import { checkSchema, openStore, StoreOpenError } from "../src/store/open.ts";
import { REQUIRED_SCHEMA_VERSION } from "../src/store/migrations.ts";
import { createTempDatabase } from "./_pg.ts";

Deno.test("openStore() opens SQLite in DATA_DIR when no DATABASE_URL is set", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tana-open-" });
  try {
    const store = await openStore(loadConfig({ DATA_DIR: `${dir}/nested` }));
    try {
      assert.equal(store.kind, "sqlite");
      assert.equal(store.location, `${dir}/nested/tana-edge.db`);
      await assert.rejects(checkSchema(store), (err: Error) => {
        assert.ok(err instanceof StoreOpenError);
        assert.match(err.message, /has no schema/);
        assert.match(err.message, /deno task migrate/);
        return true;
      });
      await store.migrate();
      await checkSchema(store);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openStore() names an unreachable Postgres without its password", async () => {
  const started = performance.now();
  await assert.rejects(
    openStore(loadConfig({
      DATABASE_URL: "postgres://root:secret@127.0.0.1:1/ledger",
      DB_CONNECT_TIMEOUT_MS: "1000",
    })),
    (err: Error) => {
      assert.ok(err instanceof StoreOpenError);
      assert.match(err.message, /postgres:\/\/root@127\.0\.0\.1:1\/ledger/);
      assert.match(err.message, /ECONNREFUSED/);
      assert.doesNotMatch(err.message, /secret/);
      return true;
    },
  );
  assert.ok(performance.now() - started < 1500);
});

Deno.test("openStore() explains a missing Postgres database", async () => {
  const db = await createTempDatabase();
  await db.drop();
  await assert.rejects(openStore(loadConfig({ DATABASE_URL: db.url })), (err: Error) => {
    assert.ok(err instanceof StoreOpenError);
    assert.match(err.message, new RegExp(`database "${db.name}" does not exist`));
    return true;
  });
});

Deno.test("openStore() uses a separate read pool and checkSchema() passes once migrated", async () => {
  const db = await createTempDatabase();
  try {
    const store = await openStore(loadConfig({ DATABASE_URL: db.url, DATABASE_READ_URL: db.url }));
    try {
      assert.equal(store.kind, "postgres");
      assert.match(store.location, /\(reads: postgres:\/\//);
      await assert.rejects(checkSchema(store), /deno task migrate/);
      await store.migrate();
      assert.equal(await store.schemaVersion(), REQUIRED_SCHEMA_VERSION);
      await checkSchema(store);
      assert.equal(await store.kvGet("a", "b"), null);
    } finally {
      await store.close();
    }
  } finally {
    await db.drop();
  }
});
