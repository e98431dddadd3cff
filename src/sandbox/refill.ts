/**
 * When a sandbox may refill its warm pool without holding up a result.
 *
 * `new Worker()` blocks the sandbox's main thread while the worker starts (7–27 ms on the 2-core
 * benchmark machines), and every result and host-call reply that arrives meanwhile waits for it.
 * A refill used to start as soon as a run ended; when the next run had already arrived, its worker
 * answered within a millisecond and the answer then waited for the spawn. At 70 % of capacity on
 * the slowest host, a run's time in its sandbox was 1 ms at the median and 35–40 ms at the p99;
 * with the refill waiting for runs that have just started, 0.9 and 4–12 ms (bench/README.md,
 * 2026-12-08).
 *
 * @module
 */

/**
 * How long a refill waits for a run that has just started. Most runs end well within it (a primed
 * hello run takes ≈ 1 ms in the sandbox); one that takes longer computes or waits for I/O, and its
 * result is held up only if it lands within the spawn's block.
 */
export const REFILL_DEFER_MS = 20;

/**
 * Milliseconds until the next refill may block the sandbox's main thread.
 *
 * @param warmLeft warm workers still ready for the next request (pool and primed)
 * @param runStarts when each run in flight arrived (`performance.now()`)
 * @param now the current `performance.now()`
 * @returns 0 when the refill may start now: nothing is waiting for a result that has just started,
 *   or no warm worker is left, so the next request would spawn its own anyway
 *
 * @example
 * ```ts
 * import { REFILL_DEFER_MS, refillDelay } from "./refill.ts";
 * console.assert(refillDelay(2, [100], 105) === REFILL_DEFER_MS - 5);
 * console.assert(refillDelay(0, [100], 105) === 0);
 * console.assert(refillDelay(2, [], 105) === 0);
 * ```
 */
export function refillDelay(warmLeft: number, runStarts: Iterable<number>, now: number): number {
  if (warmLeft === 0) return 0;
  let latest = -Infinity;
  for (const start of runStarts) latest = Math.max(latest, start);
  return Math.max(0, latest + REFILL_DEFER_MS - now);
}
