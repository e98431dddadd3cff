/**
 * The decision to spawn workers ahead: the average of requests held per window, against the cores.
 */
import assert from "node:assert/strict";
import { OFF_AT, ON_BELOW, SpawnAhead } from "../src/sandbox/spawn_ahead.ts";

/** Holds `held` requests for a whole 100 ms window starting at `t`, then decides for 2 cores. */
function window(policy: SpawnAhead, t: number, held: number): boolean {
  policy.change(held, t);
  const changed = policy.update(2, t + 100);
  policy.change(-held, t + 100);
  return changed;
}

Deno.test("spawning ahead stops when requests hold the cores and resumes when they leave", () => {
  const policy = new SpawnAhead(0);
  assert.equal(policy.enabled, true);
  assert.equal(window(policy, 0, 1), false, "one request on two cores leaves spare CPU");
  assert.equal(window(policy, 100, 2), true, "two requests held all along: both cores busy");
  assert.equal(policy.enabled, false);
  assert.equal(window(policy, 200, 1.5), false, "between the thresholds nothing changes");
  assert.equal(window(policy, 300, 0.8), true, `below ${ON_BELOW} of the cores it resumes`);
  assert.equal(policy.enabled, true);
  assert.equal(window(policy, 400, 2 * OFF_AT - 0.1), false, "just under the stop threshold");
});

Deno.test("a request counts for the part of each window it is held, however long it runs", () => {
  const policy = new SpawnAhead(0);
  // Two requests for the first 95 ms of the window: 1.9 held on average over two cores.
  policy.change(2, 0);
  policy.change(-2, 95);
  assert.equal(policy.update(2, 100), true);
  assert.equal(policy.enabled, false);
  assert.equal(policy.update(2, 200), true, "nothing held: spare CPU again");
  // One slow request over ten windows is one request in each, never ten in the last.
  policy.change(1, 200);
  for (let t = 300; t <= 1200; t += 100) assert.equal(policy.update(2, t), false);
  policy.change(-1, 1200);
  assert.equal(policy.update(2, 1300), false);
  assert.equal(policy.enabled, true);
});
