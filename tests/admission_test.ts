/**
 * The admission rule on its own: memory bound, burst, standing queue, and a sandbox being replaced.
 */
import assert from "node:assert/strict";
import { admits, STANDING_QUEUE_MS } from "../src/sandbox/admission.ts";

const full = { ready: 2, expected: 2, concurrency: 4, queueSize: 4 };

Deno.test("slots plus QUEUE_SIZE bound what is admitted, whatever the queue's age", () => {
  assert.equal(admits({ ...full, inFlight: 8, waiting: 3, waitingForMs: 0 }), true);
  assert.equal(admits({ ...full, inFlight: 8, waiting: 4, waitingForMs: 0 }), false);
  assert.equal(admits({ ...full, inFlight: 2, waiting: 10, waitingForMs: 10 }), false);
  // Capacity counts ready sandboxes only.
  assert.equal(admits({ ...full, ready: 1, inFlight: 4, waiting: 4, waitingForMs: 0 }), false);
});

Deno.test("a burst may wait in free slots; a standing queue admits only QUEUE_SIZE waiting", () => {
  const busy = { ...full, inFlight: 2 };
  assert.equal(admits({ ...busy, waiting: 8, waitingForMs: STANDING_QUEUE_MS - 1 }), true);
  assert.equal(admits({ ...busy, waiting: 8, waitingForMs: STANDING_QUEUE_MS }), false);
  assert.equal(admits({ ...busy, waiting: 3, waitingForMs: 10 * STANDING_QUEUE_MS }), true);
  assert.equal(admits({ ...busy, waiting: 4, waitingForMs: 10 * STANDING_QUEUE_MS }), false);
  assert.equal(admits({ ...busy, queueSize: 0, waiting: 1, waitingForMs: 200 }), false);
});

Deno.test("while a sandbox is being replaced, its backlog is a burst, not a standing queue", () => {
  const replacing = { ...full, ready: 1, inFlight: 1 };
  assert.equal(admits({ ...replacing, waiting: 6, waitingForMs: 400 }), true);
  assert.equal(admits({ ...replacing, waiting: 7, waitingForMs: 400 }), false, "memory bound");
});
