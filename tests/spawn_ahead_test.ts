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
  // Without a pool the same load holds the cores longer: saturated-looking, but faster answers.
  assert.equal(window(policy, t += WINDOW, 2, 160), false);
  assert.equal(window(policy, t += WINDOW, 2, 160), false);
  // 113 per second against 140 at saturation: under RESUME_BELOW.
  assert.ok(113 < RESUME_BELOW * 140 && 125 > RESUME_BELOW * 140);
  assert.equal(window(policy, t += WINDOW, 1.8, 125), false, "a little lighter is not enough");
  assert.ok(1.5 / 2 >= RESUME_SHARE, "nor does the share decide here");
  assert.equal(window(policy, t += WINDOW, 1.5, 113), true);
  assert.equal(policy.enabled, true);
});

/**
 * Saturates the pools at 140 per second, answers 160 without them, then lets the load fall to
 * 113 per second, under RESUME_BELOW of the pools' rate, which resumes spawning ahead.
 *
 * @returns the end of the window that resumed it
 */
function saturateThenLighten(policy: SpawnAhead): number {
  let t = 0;
  for (let w = 0; w < SATURATED_WINDOWS; w++) window(policy, t += WINDOW, 2, 140);
  for (let w = 0; w < 4; w++) window(policy, t += WINDOW, 2, 160);
  assert.equal(window(policy, t += WINDOW, 1.6, 113), true, "a lighter load resumes it");
  return t;
}

Deno.test("once resumed, saturation cannot stop it again while the pools refill", () => {
  const policy = new SpawnAhead(0);
  let t = saturateThenLighten(policy);
  const resumed = t;
  // Pools empty: each request still spawns its worker, and the same load holds every core.
  while (t + WINDOW - resumed < RESUME_GRACE_MS) {
    assert.equal(window(policy, t += WINDOW, 2, 113), false);
  }
  assert.equal(policy.enabled, true);
  // Refilled, the pools serve the load with cores to spare: spawning ahead stays on.
  for (let w = 0; w < 8; w++) assert.equal(window(policy, t += WINDOW, 0.6, 113), false);
  // A load that saturates the pools still stops it, once the grace is over.
  for (let w = 1; w < SATURATED_WINDOWS; w++) window(policy, t += WINDOW, 2, 140);
  assert.equal(window(policy, t += WINDOW, 2, 140), true);
  assert.equal(policy.enabled, false);
});

Deno.test("a load that still saturates the refilled pools is served without them", () => {
  const policy = new SpawnAhead(0);
  let t = saturateThenLighten(policy);
  const resumed = t;
  while (t + WINDOW - resumed < RESUME_GRACE_MS) window(policy, t += WINDOW, 2, 113);
  // Past the grace the pools, full again, still hold every core at 113 per second: no headroom.
  for (let w = 0; w < SATURATED_WINDOWS; w++) window(policy, t += WINDOW, 2, 113);
  assert.equal(policy.enabled, false);
  // The same load without pools is not slower than what the pools managed: they stay off.
  for (let w = 0; w < 8; w++) assert.equal(window(policy, t += WINDOW, 1.6, 113), false);
  // Until it falls well below it.
  assert.equal(window(policy, t += WINDOW, 1.6, 90), true);
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
