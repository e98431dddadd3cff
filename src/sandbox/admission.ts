/**
 * Whether one more request may be admitted: the server's answer to overload.
 *
 * Two bounds. Memory: at most `concurrency` runs per ready sandbox plus `queueSize` waiting, so
 * nothing grows with load. Latency: once the queue is standing (it has not emptied for
 * {@link STANDING_QUEUE_MS} with every sandbox ready), requests arrive faster than the sandboxes
 * take them, and each one admitted would only wait longer; then only `queueSize` may wait to run.
 * Requests held back by their own contract's cap (`CONTRACT_CONCURRENCY`) wait for that tenant's
 * runs, not for capacity, and do not count there: one tenant's backlog never gets others shed. A
 * burst (the queue emptied recently) may fill every free slot, and so may the backlog of a sandbox
 * being replaced, whose capacity returns within a second. This is CoDel's idea, applied at
 * admission so that a refused client learns it at once and can retry elsewhere.
 *
 * @module
 */

/**
 * How long the queue must stay non-empty, with every sandbox ready, to count as standing.
 * CoDel's interval.
 */
export const STANDING_QUEUE_MS = 100;

/** What the supervisor knows when a request arrives. */
export interface AdmissionState {
  /** Sandboxes ready to take runs. */
  ready: number;
  /** Sandboxes there should be (`SANDBOX_PROCESSES`). */
  expected: number;
  /** Runs handed to sandboxes and not yet answered. */
  inFlight: number;
  /** Runs waiting in the queue. */
  waiting: number;
  /** Of those, runs their contract's cap does not hold back. */
  waitingToRun: number;
  /** How long the queue has been non-empty with every sandbox ready, in ms (0 when empty). */
  waitingForMs: number;
  /** `SANDBOX_CONCURRENCY`. */
  concurrency: number;
  /** `QUEUE_SIZE`. */
  queueSize: number;
}

/**
 * Decides whether a request may be admitted.
 *
 * @param s the supervisor's current counts
 * @returns `true` to admit it, `false` to refuse it with 503 `overloaded`
 *
 * @example
 * ```ts
 * import { admits } from "./admission.ts";
 * const base = { ready: 2, expected: 2, inFlight: 2, concurrency: 4, queueSize: 4 };
 * console.assert(admits({ ...base, waiting: 6, waitingToRun: 6, waitingForMs: 20 })); // a burst
 * console.assert(!admits({ ...base, waiting: 6, waitingToRun: 6, waitingForMs: 300 })); // standing
 * ```
 */
export function admits(s: AdmissionState): boolean {
  if (s.inFlight + s.waiting >= s.ready * s.concurrency + s.queueSize) return false;
  const standing = s.waiting > 0 && s.ready >= s.expected &&
    s.waitingForMs >= STANDING_QUEUE_MS;
  return !standing || s.waitingToRun < s.queueSize;
}
