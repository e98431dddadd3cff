/**
 * The admission rule on its own: memory bound, burst, standing queue, a tenant's capped backlog;
 * how sustained overload is told from a burst, a sandbox being replaced included; and the order
 * in which waiting runs are served.
 */
import assert from "node:assert/strict";
import {
  admits,
  Overload,
  OVERLOAD_INTERVAL_MS,
  serviceOrder,
  type Waiting,
} from "../src/sandbox/admission.ts";

const I = OVERLOAD_INTERVAL_MS;
const full = { ready: 2, concurrency: 4, queueSize: 4 };
/** A queue of `n` runs that may all start as soon as a sandbox takes them. */
const queue = (n: number, standing: boolean) => ({ waiting: n, waitingToRun: n, standing });

Deno.test("admits(): slots plus QUEUE_SIZE bound what is admitted, standing or not", () => {
  assert.equal(admits({ ...full, inFlight: 8, ...queue(3, false) }), true);
  assert.equal(admits({ ...full, inFlight: 8, ...queue(4, false) }), false);
  assert.equal(admits({ ...full, inFlight: 2, ...queue(10, false) }), false);
  // Capacity counts ready sandboxes only.
  assert.equal(admits({ ...full, ready: 1, inFlight: 4, ...queue(4, false) }), false);
});

Deno.test("admits(): a burst may wait in free slots; a standing queue admits QUEUE_SIZE", () => {
  const busy = { ...full, inFlight: 2 };
  assert.equal(admits({ ...busy, ...queue(8, false) }), true);
  assert.equal(admits({ ...busy, ...queue(8, true) }), false);
  assert.equal(admits({ ...busy, ...queue(3, true) }), true);
  assert.equal(admits({ ...busy, ...queue(4, true) }), false);
  assert.equal(admits({ ...busy, queueSize: 0, ...queue(1, true) }), false);
});

Deno.test("admits(): a tenant's backlog held back by its own cap never gets others shed", () => {
  const capped = { ...full, inFlight: 3, waiting: 5, standing: true };
  assert.equal(admits({ ...capped, waitingToRun: 0 }), true);
  assert.equal(admits({ ...capped, waitingToRun: 4 }), false);
});

Deno.test("Overload: standing after the queue stays non-empty for the interval", () => {
  const q = new Overload();
  q.update(3, true, 0);
  assert.equal(q.standing(I - 1), false, "a burst");
  assert.equal(q.standing(I), true);
  // A queue that empties within the interval was a burst, and the next one starts afresh.
  const burst = new Overload();
  burst.update(3, true, 0);
  burst.update(0, true, I / 2);
  burst.update(2, true, I * 0.6);
  assert.equal(burst.standing(I * 0.6 + I - 1), false);
});

Deno.test("Overload: stays standing until the queue has been empty, nothing shed, for the interval", () => {
  const q = new Overload();
  q.update(4, true, 0);
  assert.equal(q.standing(I), true);
  // Shedding empties the queue for a moment under sustained overload: that is no new burst.
  q.update(0, true, I * 1.5);
  assert.equal(q.standing(I * 1.5 + I - 1), true);
  q.update(1, true, I * 2);
  q.update(0, true, I * 2.1);
  assert.equal(q.standing(I * 2.1 + I - 1), true);
  assert.equal(q.standing(I * 2.1 + I), false, "the load has passed");
});

Deno.test("Overload: while a sandbox is being replaced, its backlog is a burst", () => {
  const q = new Overload();
  q.update(4, true, 0);
  assert.equal(q.standing(I), true);
  q.update(6, false, 200);
  assert.equal(q.standing(1000), false, "one sandbox down");
  // Every sandbox ready again: the interval starts then, not when the queue filled.
  q.update(6, true, 1000);
  assert.equal(q.standing(1000 + I - 1), false);
  assert.equal(q.standing(1000 + I), true);
});

Deno.test("Overload: a queue kept empty by shedding is still standing", () => {
  const q = new Overload();
  q.update(4, true, 0);
  assert.equal(q.standing(I), true);
  // With QUEUE_SIZE 0 nothing may wait in a standing queue: it is empty while requests are shed.
  q.update(0, true, I * 1.1);
  let lastShed = 0;
  for (let at = I * 1.2; at < I * 4; at += I / 5) q.shed(lastShed = at);
  assert.equal(q.standing(I * 4), true);
  assert.equal(q.standing(lastShed + I), false, "nothing shed for the interval");
});

Deno.test("Overload: shedding() lasts the interval after the last request shed", () => {
  const q = new Overload();
  assert.equal(q.shedding(0), false);
  q.shed(1000);
  assert.equal(q.shedding(1000), true);
  assert.equal(q.shedding(1000 + I - 1), true);
  assert.equal(q.shedding(1000 + I), false);
});

Deno.test("Overload: sustained() once requests are shed for the interval without a pause", () => {
  const q = new Overload();
  q.shed(1000);
  assert.equal(q.sustained(1000), false, "one request shed");
  assert.equal(q.sustained(1000 + I - 1), false);
  for (let t = 1000 + I / 2; t <= 1000 + I; t += I / 2) q.shed(t);
  assert.equal(q.sustained(1000 + I), true);
  assert.equal(q.sustained(1000 + 2 * I), false, "nothing shed for the interval");
  q.shed(1000 + 2 * I);
  assert.equal(q.sustained(1000 + 2 * I), false, "a new episode starts over");
});

Deno.test("serviceOrder(): oldest first, unless requests are being shed", () => {
  const queue = [{ id: "a" }, { id: "b", joinedShedding: true }, { id: "c", joinedShedding: true }];
  const ids = (items: { id: string }[]) => items.map((item) => item.id).join("");
  assert.equal(ids(serviceOrder(queue, false)), "abc");
  assert.equal(ids(serviceOrder(queue, true)), "acb");
});

Deno.test("serviceOrder(): while shedding, retried runs, then earlier joiners oldest first, then the rest newest first", () => {
  const queue: (Waiting & { id: string })[] = [
    { id: "r1", retried: true },
    { id: "r2", retried: true },
    { id: "b1" },
    { id: "s1", joinedShedding: true },
    { id: "b2" },
    { id: "s2", joinedShedding: true },
    { id: "s3", joinedShedding: true },
  ];
  assert.deepEqual(
    serviceOrder(queue, true).map((item) => item.id),
    ["r1", "r2", "b1", "b2", "s3", "s2", "s1"],
  );
  assert.equal(queue[0].id, "r1", "the queue itself is not reordered");
});
