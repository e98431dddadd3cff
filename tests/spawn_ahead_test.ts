/**
 * The decision to spawn workers ahead, window by window: saturation stops it, a lighter answer
 * rate or the periodic re-check resumes it, but not while requests are shed, and once resumed it
 * holds while the pools refill.
 */
import assert from "node:assert/strict";
import {
  RECHECK_MS,
  RESUME_BELOW,
  RESUME_GRACE_MS,
  RESUME_SHARE,
  SATURATED,
  SATURATED_WINDOWS,
  SpawnAhead,
} from "../src/sandbox/spawn_ahead.ts";

const WINDOW = 250;

/** `held` requests need CPU through the window ending at `end`, answered at `rate` per second. */
function window(policy: SpawnAhead, end: number, held: number, rate: number): boolean {
  policy.demand(held * WINDOW);
  for (let i = 0; i < (rate * WINDOW) / 1000; i++) policy.answered();
  return policy.update(2, end);
}

/**
 * Saturates the sandboxes (pools answering 140 per second, 148 without them), then lets the load
 * fall to 70 % (104 per second), which resumes spawning ahead.
 *
 * @returns the end of the window that resumed it
 */
function saturateThenLighten(policy: SpawnAhead): number {
  let t = 0;
  for (let w = 0; w < SATURATED_WINDOWS; w++) window(policy, t += WINDOW, 2, 140);
  for (let w = 0; w < 12; w++) window(policy, t += WINDOW, 2, 148);
  assert.equal(window(policy, t += WINDOW, 1.4, 104), false);
  assert.equal(window(policy, t += WINDOW, 1.4, 104), true, "70 % resumes spawning ahead");
  return t;
}

Deno.test("spawning ahead stops after consecutive saturated windows, not after a burst", () => {
  const policy = new SpawnAhead(0);
  assert.equal(window(policy, 250, 1, 100), false, "one request on two cores leaves spare CPU");
  assert.equal(window(policy, 500, 2, 140), false, "one saturated window may be a burst");
  assert.equal(window(policy, 750, 1, 140), false);
  for (let w = 1; w < SATURATED_WINDOWS; w++) window(policy, 750 + w * WINDOW, 2, 140);
  assert.equal(policy.enabled, true);
  assert.equal(window(policy, 750 + SATURATED_WINDOWS * WINDOW, 2 * SATURATED, 140), true);
  assert.equal(policy.enabled, false);
});

Deno.test("it resumes when requests come slower than at saturation, whatever they hold", () => {
  const policy = new SpawnAhead(0);
  let t = 0;
  for (let w = 0; w < SATURATED_WINDOWS; w++) window(policy, t += WINDOW, 2, 140);
  assert.equal(policy.enabled, false);
  // Without a pool the same load holds the cores longer: saturated-looking, but faster answers,
  // and these measure what the sandboxes answer without a pool: 160 per second.
  for (let w = 0; w < 12; w++) assert.equal(window(policy, t += WINDOW, 2, 160), false);
  assert.ok(Math.abs(policy.capacity - 160) < 1, `${policy.capacity}`);
  // 120 per second against 160: under RESUME_BELOW; 140 is not.
  assert.ok(120 < RESUME_BELOW * 160 && 140 > RESUME_BELOW * 160);
  assert.ok(1.5 / 2 >= RESUME_SHARE && 1.5 / 2 < SATURATED, "the share decides nothing here");
  assert.equal(window(policy, t += WINDOW, 1.5, 140), false, "a little lighter is not enough");
  assert.equal(window(policy, t += WINDOW, 1.5, 140), false);
  assert.equal(window(policy, t += WINDOW, 1.5, 120), false, "one slower window may be noise");
  assert.equal(window(policy, t += WINDOW, 1.5, 120), true);
  assert.equal(policy.enabled, true);
});

Deno.test("a slower load is compared with the rate without a pool, not the pools' rate", () => {
  const policy = new SpawnAhead(0);
  let t = 0;
  // The pools saturated at 100 per second (they were still draining), and stopped.
  for (let w = 0; w < SATURATED_WINDOWS; w++) window(policy, t += WINDOW, 2, 100);
  assert.equal(policy.capacity, 100);
  // Without a pool the sandboxes answer 148 per second.
  for (let w = 0; w < 12; w++) window(policy, t += WINDOW, 2, 148);
  assert.ok(Math.abs(policy.capacity - 148) < 2, `${policy.capacity}`);
  // 70 % of that is more than RESUME_BELOW of the pools' rate, and well below what they answer
  // without one: the pools resume.
  assert.ok(104 > RESUME_BELOW * 100 && 104 < RESUME_BELOW * 148);
  assert.equal(window(policy, t += WINDOW, 1.6, 104), false);
  assert.equal(window(policy, t += WINDOW, 1.6, 104), true);
});

Deno.test("once resumed, saturation cannot stop it again while the pools refill", () => {
  const policy = new SpawnAhead(0);
  let t = saturateThenLighten(policy);
  const resumed = t;
  // Pools empty: each request still spawns its worker, and the same load holds every core.
  while (t + WINDOW - resumed < RESUME_GRACE_MS) {
    assert.equal(window(policy, t += WINDOW, 2, 104), false);
  }
  assert.equal(policy.enabled, true);
  // Refilled, the pools serve the load with cores to spare: spawning ahead stays on.
  for (let w = 0; w < 8; w++) assert.equal(window(policy, t += WINDOW, 0.6, 104), false);
  // A load that saturates the pools still stops it, once the grace is over.
  for (let w = 1; w < SATURATED_WINDOWS; w++) window(policy, t += WINDOW, 2, 140);
  assert.equal(window(policy, t += WINDOW, 2, 140), true);
  assert.equal(policy.enabled, false);
});

Deno.test("what was measured without a pool is kept from one stop to the next", () => {
  const policy = new SpawnAhead(0);
  let t = saturateThenLighten(policy);
  for (let w = 0; w < 8; w++) window(policy, t += WINDOW, 0.6, 104);
  // A stall of half a second at the same load: every core held, and spawning ahead stops.
  for (let w = 0; w < SATURATED_WINDOWS; w++) window(policy, t += WINDOW, 2, 104);
  assert.equal(policy.enabled, false);
  // It is still compared with what the sandboxes answered at saturation, not with the rate the
  // stall stopped at: even a window without a pool in which the 70 % load holds every core
  // resumes it.
  assert.ok(policy.capacity > 140, `${policy.capacity}`);
  assert.equal(window(policy, t += WINDOW, 2, 104), true);
});

Deno.test("without a pool it measures again every RECHECK_MS, even under full load", () => {
  const policy = new SpawnAhead(0);
  let t = 0;
  for (let w = 0; w < SATURATED_WINDOWS; w++) window(policy, t += WINDOW, 2, 140);
  const stopped = t;
  while (t + WINDOW - stopped < RECHECK_MS) {
    assert.equal(window(policy, t += WINDOW, 2, 160), false);
  }
  assert.equal(window(policy, t += WINDOW, 2, 160), true);
  assert.equal(policy.enabled, true);
});

Deno.test("while requests are shed it does not measure again, and does once none are", () => {
  const policy = new SpawnAhead(0);
  let t = 0;
  for (let w = 0; w < SATURATED_WINDOWS; w++) window(policy, t += WINDOW, 2, 140);
  const stopped = t;
  while (t + WINDOW - stopped < RECHECK_MS) window(policy, t += WINDOW, 2, 160);
  // Past RECHECK_MS, but every window sheds requests: the load exceeds capacity in any mode.
  for (let w = 0; w < 8; w++) {
    policy.shed();
    assert.equal(window(policy, t += WINDOW, 2, 160), false);
  }
  assert.equal(policy.enabled, false);
  assert.equal(window(policy, t += WINDOW, 2, 160), true, "the first window without a refusal");
  assert.equal(policy.enabled, true);
});

Deno.test("while requests are shed, a slower rate does not resume it; few cores held does", () => {
  const policy = new SpawnAhead(0);
  let t = 0;
  for (let w = 0; w < SATURATED_WINDOWS; w++) window(policy, t += WINDOW, 2, 140);
  // The host slowed down: fewer answers, the cores still full, requests refused.
  policy.shed();
  assert.equal(window(policy, t += WINDOW, 2, 60), false, "slower, but requests were refused");
  // Every slot held by runs waiting for I/O: requests refused, the cores free.
  policy.shed();
  assert.equal(window(policy, t += WINDOW, 2 * RESUME_SHARE - 0.1, 60), true);
});

Deno.test("saturated by runs answered slowly, it resumes as soon as they are done", () => {
  const policy = new SpawnAhead(0);
  let t = 0;
  for (let w = 0; w < SATURATED_WINDOWS; w++) window(policy, t += WINDOW, 2, 0);
  assert.equal(policy.enabled, false);
  assert.equal(window(policy, t += WINDOW, 0, 0), true, "a rate of 0 against 0 is not heavier");
});

Deno.test("a saturation seen at a light rate (a stall) ends when requests hold few cores", () => {
  const policy = new SpawnAhead(0);
  let t = 0;
  // Two windows in which the machine stalled: every run held its core, few were answered.
  for (let w = 0; w < SATURATED_WINDOWS; w++) window(policy, t += WINDOW, 2, 12);
  assert.equal(policy.enabled, false);
  // 40 per second is no lighter than 12, but without a pool the runs hold under half the cores.
  assert.equal(window(policy, t += WINDOW, 2 * RESUME_SHARE + 0.1, 40), false);
  assert.equal(window(policy, t += WINDOW, 2 * RESUME_SHARE - 0.1, 40), true);
  assert.equal(policy.enabled, true);
});

Deno.test("what was measured is forgotten once the sandboxes are idle", () => {
  const policy = new SpawnAhead(0);
  let t = 0;
  for (let w = 0; w < SATURATED_WINDOWS; w++) window(policy, t += WINDOW, 2, 140);
  for (let w = 0; w < 12; w++) window(policy, t += WINDOW, 2, 148);
  assert.ok(policy.capacity > 140, `${policy.capacity}`);
  // The load ends: an idle window resumes spawning ahead and forgets the rate.
  assert.equal(window(policy, t += WINDOW, 0, 0), true);
  assert.equal(policy.capacity, 0);
  for (let w = 0; w < 8; w++) window(policy, t += WINDOW, 0, 0);
  // The next saturation comes on a host that has slowed down by a third.
  for (let w = 0; w < SATURATED_WINDOWS; w++) window(policy, t += WINDOW, 2, 92);
  assert.equal(policy.enabled, false);
  assert.equal(policy.capacity, 92);
  // Answered at 96 per second without a pool: saturation still, not a lighter load.
  for (let w = 0; w < 8; w++) assert.equal(window(policy, t += WINDOW, 2, 96), false);
});
