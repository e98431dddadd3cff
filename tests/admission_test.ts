/**
 * The admission rule on its own: memory bound, burst, standing queue, a tenant's capped backlog,
 * and a sandbox being replaced.
 */
import assert from "node:assert/strict";
import { admits, STANDING_QUEUE_MS } from "../src/sandbox/admission.ts";

const full = { ready: 2, expected: 2, concurrency: 4, queueSize: 4 };
/** A queue of `n` runs that may all start as soon as a sandbox takes them. */
const queue = (n: number, waitingForMs: number) => ({ waiting: n, waitingToRun: n, waitingForMs });

Deno.test("slots plus QUEUE_SIZE bound what is admitted, whatever the queue's age", () => {
  assert.equal(admits({ ...full, inFlight: 8, ...queue(3, 0) }), true);
  assert.equal(admits({ ...full, inFlight: 8, ...queue(4, 0) }), false);
  assert.equal(admits({ ...full, inFlight: 2, ...queue(10, 10) }), false);
  // Capacity counts ready sandboxes only.
  assert.equal(admits({ ...full, ready: 1, inFlight: 4, ...queue(4, 0) }), false);
});

Deno.test("a burst may wait in free slots; a standing queue admits only QUEUE_SIZE waiting", () => {
  const busy = { ...full, inFlight: 2 };
  assert.equal(admits({ ...busy, ...queue(8, STANDING_QUEUE_MS - 1) }), true);
  assert.equal(admits({ ...busy, ...queue(8, STANDING_QUEUE_MS) }), false);
  assert.equal(admits({ ...busy, ...queue(3, 10 * STANDING_QUEUE_MS) }), true);
  assert.equal(admits({ ...busy, ...queue(4, 10 * STANDING_QUEUE_MS) }), false);
  assert.equal(admits({ ...busy, queueSize: 0, ...queue(1, 200) }), false);
});

Deno.test("a tenant's backlog held back by its own cap never gets others shed", () => {
  const capped = { ...full, inFlight: 3, waiting: 5, waitingForMs: 10 * STANDING_QUEUE_MS };
  assert.equal(admits({ ...capped, waitingToRun: 0 }), true);
  assert.equal(admits({ ...capped, waitingToRun: 4 }), false);
});

Deno.test("while a sandbox is being replaced, its backlog is a burst, not a standing queue", () => {
  const replacing = { ...full, ready: 1, inFlight: 1 };
  assert.equal(admits({ ...replacing, ...queue(6, 400) }), true);
  assert.equal(admits({ ...replacing, ...queue(7, 400) }), false, "memory bound");
});
