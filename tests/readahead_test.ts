/**
 * Read-ahead: the learner on its own, then end to end over HTTP on both stores, where the
 * answers a contract gets must be exactly what its calls would have returned.
 *
 * @module
 */
import assert from "node:assert/strict";
import { callKey, type PlannedCall, ReadAhead } from "../src/host/readahead.ts";
import { startTestServer, STORES, type TestServer } from "./_server.ts";

const call = (key: string): PlannedCall => ({
  key: callKey("kv.get", { key }),
  op: "kv.get",
  args: { key },
});

Deno.test("ReadAhead learns a call after two runs in a row and ships it", () => {
  const learner = new ReadAhead(16);
  const plan = "c hash GET";
  assert.deepEqual(learner.plan(plan), []);
  learner.record(plan, [call("a")], []);
  assert.deepEqual(learner.plan(plan), [], "one run is not enough");
  learner.record(plan, [call("a")], []);
  assert.deepEqual(learner.plan(plan).map((c) => c.key), [call("a").key]);
  // Answered from the read-ahead, the call no longer reaches the host, but it was used.
  learner.record(plan, [], [call("a").key]);
  assert.deepEqual(learner.plan(plan).map((c) => c.key), [call("a").key]);
  assert.deepEqual(learner.plan("c other-hash GET"), [], "a new version learns afresh");
});

Deno.test("ReadAhead never guesses reads that change with the request", () => {
  const learner = new ReadAhead(16);
  const plan = "c hash GET";
  for (const user of ["alice", "bob", "carol", "dave", "erin"]) {
    learner.record(plan, [call("config"), call(`user:${user}`)], []);
  }
  assert.deepEqual(learner.plan(plan).map((c) => c.key), [call("config").key]);
});

Deno.test("ReadAhead drops a call the contract stopped making", () => {
  const learner = new ReadAhead(16);
  const plan = "c hash GET";
  for (let i = 0; i < 5; i++) learner.record(plan, [call("a")], []);
  learner.record(plan, [], []);
  learner.record(plan, [], []);
  assert.deepEqual(learner.plan(plan), []);
});

Deno.test("ReadAhead bounds what it ships and what it learns", () => {
  const learner = new ReadAhead(2);
  const plan = "c hash GET";
  const calls = ["a", "b", "c", "d"].map(call);
  learner.record(plan, calls, []);
  learner.record(plan, calls, []);
  assert.equal(learner.plan(plan).length, 2);
  assert.equal(learner.learnable("kv.get", { value: "x".repeat(100) }), true);
  assert.equal(learner.learnable("kv.get", { value: "x".repeat(20_000) }), false);
  assert.equal(learner.learnable("fetch", { status: 200 }), false, "fetch is not a store read");
  assert.equal(learner.learnable("kv.list", { keys: [] }), false);
  const off = new ReadAhead(0);
  off.record(plan, calls, []);
  off.record(plan, calls, []);
  assert.deepEqual(off.plan(plan), []);
  assert.equal(off.learnable("kv.get", null), false);
});

/** A handler that awaits four reads in turn, like the benchmark's KV + block workload. */
const READER = `
import { kv } from "tana:kv";
import { block } from "tana:block";
export async function get(req) {
  const name = await kv.get("name");
  const again = await kv.get("name");
  const user = req.query.user ? await kv.get("user:" + req.query.user) : null;
  const missing = await kv.get("missing");
  const genesis = await block.getBlock(1);
  return { name, again, user, missing, height: genesis?.height ?? null };
}`;

/** Tries to bend the read-ahead: replaced built-ins and a forged report of used answers. */
const MEDDLER = `
import { kv } from "tana:kv";
export async function get() {
  JSON.stringify = () => 'kv.get {"key":"name"}';
  Array.prototype.push = function () { return 0; };
  const mine = await kv.get("mine");
  const name = await kv.get("name");
  return { mine, name };
}`;

async function readAheadUsed(server: TestServer): Promise<number> {
  const text = await (await server.get("/metrics")).text();
  const line = text.split("\n").find((l) =>
    l.startsWith('tana_edge_read_ahead_total{result="used"}')
  );
  return line ? Number(line.split(" ").at(-1)) : 0;
}

for (const kind of STORES) {
  Deno.test(`read-ahead end to end on ${kind}`, async (t) => {
    const server = await startTestServer({}, kind);
    try {
      await server.deploy("reader", READER);
      await server.deploy("meddler", MEDDLER);
      await server.putKv("reader", { name: "Alice", "user:1": "one", "user:2": "two" });
      await server.putKv("meddler", { mine: "meddler's own", name: "meddler's name" });

      await t.step("learned reads are answered ahead, with the same values", async () => {
        const first = await server.json("/reader");
        assert.equal(first.status, 200);
        assert.equal(first.body.name, "Alice");
        assert.equal(first.body.again, "Alice");
        const expected = first.body;
        assert.deepEqual((await server.json("/reader")).body, expected);
        const before = await readAheadUsed(server);
        const res = await server.json("/reader");
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, expected);
        // "name" (once: the second identical call reads again), "missing" and the block.
        assert.equal(await readAheadUsed(server) - before, 3);
      });

      await t.step("a value changed in the store is seen by the next request", async () => {
        await server.putKv("reader", { name: "Bob" });
        const res = await server.json("/reader");
        assert.equal(res.body.name, "Bob");
        assert.equal(res.body.again, "Bob");
      });

      await t.step("reads that depend on the request always get their own answer", async () => {
        for (const [user, value] of [["1", "one"], ["2", "two"], ["1", "one"], ["3", null]]) {
          const res = await server.json(`/reader?user=${user}`);
          assert.equal(res.body.user, value, `user ${user}`);
        }
      });

      await t.step("a contract that replaces built-ins only gets its own values", async () => {
        for (let i = 0; i < 4; i++) {
          const res = await server.json("/meddler");
          assert.equal(res.status, 200, JSON.stringify(res.body));
          assert.deepEqual(res.body, { mine: "meddler's own", name: "meddler's name" });
        }
        // The reader's answers are untouched by the meddler's runs.
        assert.equal((await server.json("/reader")).body.name, "Bob");
      });
    } finally {
      await server.close();
    }
  });
}
