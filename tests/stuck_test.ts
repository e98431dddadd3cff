/**
 * Finding workers that outlived their termination (`src/sandbox/stuck.ts`); the end-to-end
 * checks are in hostile_test.ts ("sandbox bounds CPU time") and priming_test.ts.
 */
import assert from "node:assert/strict";
import { EndedWorkers, STUCK_GRACE_MS, workerThreadIds } from "../src/sandbox/stuck.ts";

Deno.test("a terminated worker counts as stuck only if its thread outlives the grace period", () => {
  const ended = new EndedWorkers();
  ended.note(7, "spinner", 0);
  ended.note(8, "quiet", 0);
  ended.note(9, "recent", STUCK_GRACE_MS);
  ended.note(0, "not a worker", 0);
  const threads = new Set([7, 9]);
  assert.deepEqual(ended.check(threads, STUCK_GRACE_MS - 1), [], "nothing within the grace period");
  assert.deepEqual(ended.check(threads, STUCK_GRACE_MS), [{ w: 7, contractId: "spinner" }]);
  assert.equal(ended.size, 1, "the stopped worker is forgotten, the recent one kept");
  assert.deepEqual(ended.check(threads, STUCK_GRACE_MS), [], "each is reported once");
  assert.deepEqual(ended.check(threads, 2 * STUCK_GRACE_MS), [{ w: 9, contractId: "recent" }]);
  assert.equal(ended.size, 0);
});

Deno.test("worker threads are found by the names Deno gives them", async () => {
  const url = URL.createObjectURL(
    new Blob(["self.onmessage = () => self.postMessage(1);"], { type: "text/javascript" }),
  );
  const worker = new Worker(url, { type: "module" });
  try {
    await new Promise((resolve) => {
      worker.onmessage = resolve;
      worker.postMessage(0);
    });
    const ids = await workerThreadIds(Deno.pid);
    assert.ok(ids && ids.size >= 1, `worker threads: ${[...(ids ?? [])]}`);
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
});
