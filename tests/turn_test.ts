/** The turn length follows the median recent run, within its bounds. */
import assert from "node:assert/strict";
import { MAX_TURN_MS, MIN_TURN_MS, SAMPLES, Turn, TURN_FACTOR } from "../src/sandbox/turn.ts";

Deno.test("the turn is the shortest one until runs take longer than a third of it", () => {
  const turn = new Turn();
  assert.equal(turn.ms, MIN_TURN_MS, "no run seen yet");
  for (let i = 0; i < SAMPLES; i++) turn.record(3);
  assert.equal(turn.ms, MIN_TURN_MS, "light-load runs keep the shortest turn");
});

Deno.test("when runs slow down, the turn lengthens so that a typical run stays within it", () => {
  const turn = new Turn();
  for (let i = 0; i < SAMPLES; i++) turn.record(40);
  assert.equal(turn.ms, TURN_FACTOR * 40);
  for (let i = 0; i < SAMPLES; i++) turn.record(4);
  assert.equal(turn.ms, MIN_TURN_MS, "and shortens again when they speed up");
});

Deno.test("a minority of long runs does not lengthen every run's turn", () => {
  const turn = new Turn();
  for (let i = 0; i < SAMPLES; i++) turn.record(i % 3 === 0 ? 2000 : 5);
  assert.equal(turn.ms, MIN_TURN_MS);
  for (let i = 0; i < SAMPLES; i++) turn.record(2000);
  assert.equal(turn.ms, MAX_TURN_MS, "when they are most runs, the turn is bounded");
});
