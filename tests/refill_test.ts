import assert from "node:assert/strict";
import { REFILL_DEFER_MS, refillDelay } from "../src/sandbox/refill.ts";

Deno.test("refillDelay(): a refill waits for a run that has just started", () => {
  assert.equal(refillDelay(2, [1000], 1000), REFILL_DEFER_MS);
  assert.equal(refillDelay(1, [1000], 1005), REFILL_DEFER_MS - 5);
  // The latest start counts: an older run's wait must not cut a newer run's.
  assert.equal(refillDelay(1, [900, 1000, 950], 1010), REFILL_DEFER_MS - 10);
});

Deno.test("refillDelay(): no wait once the runs in flight are older than the deferral", () => {
  assert.equal(refillDelay(2, [1000], 1000 + REFILL_DEFER_MS), 0);
  assert.equal(refillDelay(2, [0], 60_000), 0, "a run waiting for I/O never holds a refill back");
});

Deno.test("refillDelay(): no wait with no run in flight, or no warm worker left", () => {
  assert.equal(refillDelay(3, [], 1000), 0);
  assert.equal(refillDelay(0, [1000], 1001), 0, "the next request would spawn its own anyway");
});
