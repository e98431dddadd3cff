/**
 * Whether sandboxes should spawn workers ahead of demand.
 *
 * A warm pool hides a worker's start (≈ 10 ms) from requests as long as there is spare CPU to
 * start workers between them. Once requests keep every core busy, spawning ahead only costs: on
 * the 2-core benchmark machine, sandboxes that spawn each run's worker when the run arrives
 * answered 7–12 % more requests per second than sandboxes that keep a pool (bench/README.md).
 * So the supervisor measures how many requests need CPU on average (queued, or running and not
 * waiting for a host call: the time they spent so in each window, summed, over the window's
 * length) and turns spawning ahead off while that stays at or above {@link OFF_AT} of the cores the
 * sandboxes can use, and on again below {@link ON_BELOW}; the gap keeps the two modes from taking
 * turns near the edge. Requests waiting for I/O leave the cores to others, so they do not count.
 *
 * @module
 */

/** Share of the usable cores held by requests at which spawning ahead stops. */
export const OFF_AT = 0.9;
/** Share below which it starts again. */
export const ON_BELOW = 0.5;

/** Averages the requests held over a window and decides whether spawning ahead pays. */
export class SpawnAhead {
  /** Whether sandboxes should keep warm pools. */
  enabled = true;
  #held = 0;
  #area = 0;
  #since: number;
  #windowStart: number;

  /**
   * Starts measuring.
   *
   * @param now the current `performance.now()`
   */
  constructor(now: number = performance.now()) {
    this.#since = now;
    this.#windowStart = now;
  }

  /**
   * Records that the number of requests needing CPU changed.
   *
   * @param delta `+1` when one is admitted or a host call of its returns, `-1` when it is answered
   *   or starts waiting for a host call
   * @param now the current `performance.now()`
   */
  change(delta: number, now: number = performance.now()): void {
    // A run can end while one of its host calls is still out (a timeout): briefly one too few.
    this.#area += Math.max(0, this.#held) * (now - this.#since);
    this.#since = now;
    this.#held += delta;
  }

  /**
   * Ends a window and decides for the next one.
   *
   * @param cores how many cores the sandboxes can use (ready sandboxes, at most the machine's)
   * @param now the current `performance.now()`
   * @returns whether {@link enabled} changed
   */
  update(cores: number, now: number = performance.now()): boolean {
    this.change(0, now);
    const elapsed = now - this.#windowStart;
    if (elapsed <= 0 || cores <= 0) return false;
    const share = this.#area / elapsed / cores;
    this.#area = 0;
    this.#windowStart = now;
    const next = this.enabled ? share < OFF_AT : share < ON_BELOW;
    if (next === this.enabled) return false;
    this.enabled = next;
    return true;
  }
}
