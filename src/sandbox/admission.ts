/**
 * Whether one more request may be admitted, and how long it may wait: the server's answer to
 * overload.
 *
 * Three bounds. Memory: at most `concurrency` runs per ready sandbox plus `queueSize` waiting, so
 * nothing grows with load. Queue length: once the queue is standing (it has not emptied for
 * {@link OVERLOAD_INTERVAL_MS} with every sandbox ready), requests arrive faster than the
 * sandboxes take them, and each one admitted would only wait longer; then only `queueSize` may
 * wait to run. Queueing delay: once requests are being shed, demand exceeds even what the queue
 * holds, and a request joining the queue waits at most `QUEUE_OVERLOAD_TIMEOUT_MS` instead of
 * `QUEUE_TIMEOUT_MS`, so admitted latency does not depend on how fast this machine drains the
 * queue; once they have been shed for {@link OVERLOAD_INTERVAL_MS} ({@link Overload.sustained}),
 * so does every request still waiting from before. A closed loop of a few clients never reaches
 * the third bound: it cannot send more than it has clients, so nothing is shed and its requests
 * may wait their turn.
 *
 * Requests held back by their own contract's cap (`CONTRACT_CONCURRENCY`) wait for that tenant's
 * runs, not for capacity, and do not count against `queueSize`: one tenant's backlog never gets
 * others shed. A burst (the queue emptied recently) may fill every free slot, and so may the
 * backlog of a sandbox being replaced, whose capacity returns within a second. This is CoDel's
 * idea applied at admission, as Facebook's servers do ("adaptive LIFO + CoDel"), so that a
 * refused client learns it at once and can retry elsewhere; the LIFO half is {@link serviceOrder}:
 * while requests are being shed, the newest of those that joined meanwhile runs first.
 *
 * @module
 */

/**
 * How long the queue must stay non-empty, with every sandbox ready, to count as standing; how
 * long it must then stay empty, with nothing shed, to count as a burst again; and how long after
 * the last request shed the queueing delay stays bounded. CoDel's interval.
 *
 * A burst is what arrives within this time, and all of it is admitted, to be served one run per
 * sandbox at a time. A run takes 2–4 ms at light load and ~40 ms when the cores are saturated,
 * so a queue that has not emptied for 50 ms is already more than one run's backlog. With 100 ms,
 * twice as many requests got in at the start of an overload; at 2× capacity their wait made the
 * p99 of all admitted requests: 113–224 ms against 87–132 ms with 50 ms, in 8 paired 15 s windows
 * (bench/README.md).
 */
export const OVERLOAD_INTERVAL_MS = 50;

/** What the supervisor knows when a request arrives. */
export interface AdmissionState {
  /** Sandboxes ready to take runs. */
  ready: number;
  /** Runs handed to sandboxes and not yet answered. */
  inFlight: number;
  /** Runs waiting in the queue. */
  waiting: number;
  /** Of those, runs their contract's cap does not hold back. */
  waitingToRun: number;
  /** Whether the queue is standing (see {@link Overload}). */
  standing: boolean;
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
 * const base = { ready: 2, inFlight: 2, concurrency: 4, queueSize: 4 };
 * console.assert(admits({ ...base, waiting: 6, waitingToRun: 6, standing: false })); // a burst
 * console.assert(!admits({ ...base, waiting: 6, waitingToRun: 6, standing: true }));
 * ```
 */
export function admits(s: AdmissionState): boolean {
  if (s.inFlight + s.waiting >= s.ready * s.concurrency + s.queueSize) return false;
  return !s.standing || s.waitingToRun < s.queueSize;
}

/** What {@link serviceOrder} needs to know about a waiting run. */
export interface Waiting {
  /** Set when a bystander of a sandbox crash waits for its second attempt. */
  retried?: boolean;
  /** Set when it joined the queue while requests were being shed. */
  joinedShedding?: boolean;
}

/**
 * The order in which free slots take waiting runs: oldest first, unless requests are being shed.
 *
 * While requests are shed, every run that joined meanwhile waits only `QUEUE_OVERLOAD_TIMEOUT_MS`
 * and most are refused anyway, so the order decides only how long the admitted ones waited:
 * newest first, that is almost nothing. Runs that joined before shedding began (the start of an
 * overload, admitted as a burst, which may wait `QUEUE_TIMEOUT_MS`) keep their order ahead of
 * them; newest first, they waited behind every later arrival until their own timeout, and made the
 * overload's p99 (bench/README.md). Runs retried after a sandbox crash go first either way.
 *
 * @param queue the waiting runs, oldest first
 * @param shedding whether requests are being shed ({@link Overload.shedding})
 * @returns the same runs, in the order to serve them
 *
 * @example
 * ```ts
 * import { serviceOrder } from "./admission.ts";
 * const queue = [{ id: 1 }, { id: 2, joinedShedding: true }, { id: 3, joinedShedding: true }];
 * console.assert(serviceOrder(queue, true).map((w) => w.id).join() === "1,3,2");
 * ```
 */
export function serviceOrder<T extends Waiting>(queue: readonly T[], shedding: boolean): T[] {
  if (!shedding) return [...queue];
  const retried = queue.filter((item) => item.retried);
  const before = queue.filter((item) => !item.retried && !item.joinedShedding);
  const meanwhile = queue.filter((item) => !item.retried && item.joinedShedding);
  return [...retried, ...before, ...meanwhile.reverse()];
}

/**
 * Tells sustained overload from a burst, from the queue's length over time and the requests shed.
 *
 * The queue becomes standing once it has been non-empty for {@link OVERLOAD_INTERVAL_MS} with
 * every sandbox ready, and stays so until it has been empty, with nothing shed, for as long.
 * Without that second half, shedding itself emptied the queue under sustained overload, the next
 * arrivals counted as a new burst and filled every slot, and admitted latency swung with it: at 2×
 * capacity it measured the same with `QUEUE_SIZE` 0 as with 4.
 */
export class Overload {
  #waiting = 0;
  /** When the queue last became non-empty with every sandbox ready; -1 while it is not. */
  #busySince = -1;
  /** When the queue last became empty. */
  #emptySince = 0;
  #shedAt = -Infinity;
  /** When requests began being shed without a pause of {@link OVERLOAD_INTERVAL_MS}. */
  #shedSince = -Infinity;
  #standing = false;

  /**
   * Records the queue's length or the sandboxes' readiness after either changes.
   *
   * @param waiting runs waiting
   * @param allReady whether every expected sandbox is ready: the backlog of a sandbox being
   *   replaced is a burst, since its capacity returns within a second
   * @param now the current `performance.now()`
   */
  update(waiting: number, allReady: boolean, now: number = performance.now()): void {
    this.standing(now);
    if (waiting === 0 && this.#waiting > 0) this.#emptySince = now;
    if (!allReady) {
      this.#busySince = -1;
      this.#standing = false;
    } else if (waiting === 0) this.#busySince = -1;
    else if (this.#busySince < 0) this.#busySince = now;
    this.#waiting = waiting;
  }

  /**
   * Records a request refused as overloaded, at admission or after waiting.
   *
   * @param now the current `performance.now()`
   */
  shed(now: number = performance.now()): void {
    if (!this.shedding(now)) this.#shedSince = now;
    this.#shedAt = now;
  }

  /**
   * Whether the queue is standing now.
   *
   * @param now the current `performance.now()`
   * @returns `true` while only `QUEUE_SIZE` may wait
   */
  standing(now: number = performance.now()): boolean {
    if (this.#busySince >= 0 && now - this.#busySince >= OVERLOAD_INTERVAL_MS) {
      this.#standing = true;
    } else if (
      this.#standing && this.#waiting === 0 && now - this.#emptySince >= OVERLOAD_INTERVAL_MS &&
      !this.shedding(now)
    ) this.#standing = false;
    return this.#standing;
  }

  /**
   * Whether requests were shed within the last {@link OVERLOAD_INTERVAL_MS}.
   *
   * @param now the current `performance.now()`
   * @returns `true` while a request joining the queue may wait only `QUEUE_OVERLOAD_TIMEOUT_MS`
   */
  shedding(now: number = performance.now()): boolean {
    return now - this.#shedAt < OVERLOAD_INTERVAL_MS;
  }

  /**
   * Whether requests have been shed for {@link OVERLOAD_INTERVAL_MS} without a pause of as long:
   * an overload, not one request turned away at the end of a burst.
   *
   * @param now the current `performance.now()`
   * @returns `true` while requests that joined before shedding began may wait only
   *   `QUEUE_OVERLOAD_TIMEOUT_MS` more
   */
  sustained(now: number = performance.now()): boolean {
    return this.shedding(now) && now - this.#shedSince >= OVERLOAD_INTERVAL_MS;
  }
}
