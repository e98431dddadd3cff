/**
 * Whether sandboxes should spawn workers ahead of demand.
 *
 * A warm pool hides a worker's start (≈ 10 ms) from requests as long as there is spare CPU to
 * start workers between them. Once requests keep every core busy, spawning ahead only costs: on
 * the 2-core benchmark machine, sandboxes that spawn each run's worker when the run arrives
 * answered 7–12 % more requests per second than sandboxes that keep a pool (bench/README.md).
 *
 * Saturation is seen from the requests that need CPU: those waiting to run, and runs computing (in
 * their turn and not waiting for a host call, as the supervisor counts them: a run waiting for I/O
 * or a timer leaves the cores to others). The supervisor reports the time they spent so; summed
 * over a window and divided by its length, that is how many there were on average. At
 * {@link SATURATED} of the cores the sandboxes can use, for {@link SATURATED_WINDOWS} windows in a
 * row, spawning ahead stops, and the rate at which requests were answered meanwhile is kept as
 * what the sandboxes manage with a pool.
 *
 * That signal cannot say when to start again: without a pool each run holds its sandbox for the
 * spawn as well, so the same load looks busier. The answer rate does not depend on the mode, so
 * spawning ahead resumes after a window in which requests were answered at less than
 * {@link RESUME_BELOW} of that rate (a load that ends is back to warm pools within ~300 ms), or in
 * which requests held less than {@link RESUME_SHARE} of the cores even without a pool (the
 * saturation was a stall or a burst, and the rate kept as capacity is then too low to tell), and
 * also every {@link RECHECK_MS}, to measure again (if the load still saturates the pool, it stops
 * again once {@link RESUME_GRACE_MS} and two windows have passed).
 *
 * Once resumed, spawning ahead is kept for {@link RESUME_GRACE_MS} whatever the load: the pools
 * start empty, and until they are refilled each request still spawns its own worker, so a load
 * they serve easily looks saturated for a few windows. Stopping on those windows kept as the
 * pools' rate at saturation the load itself, and the sandboxes stayed without pools at loads the
 * pools serve (bench/README.md, 2026-12-07, late night). After the grace, a load that still
 * saturates the pools stops them again: at such a load a pool has no headroom left, and on the
 * benchmark machine the tail was shorter without one (p99 at 70 % of capacity), though the median
 * request waits for a spawn.
 *
 * While requests are being shed, though, neither the answer rate nor the re-check resumes it. A
 * request refused as overloaded shows more demand than the sandboxes take in either mode: the
 * rate then says how fast they answer, not how much is asked, and there is nothing to measure
 * again. Each re-check refilled every pool, with warm-ups, on cores the admitted runs needed. Only
 * requests holding under {@link RESUME_SHARE} of the cores still resume it: requests shed then
 * found every slot held by runs waiting for I/O, and the cores are free to spawn ahead.
 *
 * @module
 */

/** Share of the usable cores held by requests that counts as saturated. */
export const SATURATED = 0.9;
/** Consecutive saturated windows that stop spawning ahead (one may be a burst). */
export const SATURATED_WINDOWS = 2;
/** Share of the answer rate measured at saturation below which spawning ahead resumes. */
export const RESUME_BELOW = 0.85;
/**
 * Share of the usable cores below which spawning ahead resumes whatever the answer rate: without a
 * pool a run holds its sandbox ~2–3× longer, so a load this light is far from saturating a pool.
 */
export const RESUME_SHARE = 0.5;
/** How long spawning ahead stays on after it resumes, while the pools refill. */
export const RESUME_GRACE_MS = 1_000;
/** Longest time without spawning ahead before measuring with it again. */
export const RECHECK_MS = 30_000;

/** Decides, window by window, whether spawning ahead pays. */
export class SpawnAhead {
  /** Whether sandboxes should keep warm pools. */
  enabled = true;
  #demandMs = 0;
  #windowStart: number;
  #answered = 0;
  /** Whether a request was shed in this window. */
  #shed = false;
  /** Answer rates (per second) of the consecutive saturated windows so far. */
  #saturatedRates: number[] = [];
  /** Answers per second with a pool at saturation, measured when spawning ahead stopped. */
  #capacity = 0;
  #stoppedAt = 0;
  #resumedAt = -Infinity;

  /**
   * Starts measuring.
   *
   * @param now the current `performance.now()`
   */
  constructor(now: number = performance.now()) {
    this.#windowStart = now;
  }

  /**
   * Adds time that requests spent needing CPU (two requests for 5 ms each: 10).
   *
   * @param ms milliseconds, summed over the requests
   */
  demand(ms: number): void {
    this.#demandMs += ms;
  }

  /** Records that a request was answered (whatever its outcome). */
  answered(): void {
    this.#answered++;
  }

  /** Records that a request was refused as overloaded, at admission or after waiting. */
  shed(): void {
    this.#shed = true;
  }

  /**
   * Ends a window and decides for the next one.
   *
   * @param cores how many cores the sandboxes can use (ready sandboxes, at most the machine's)
   * @param now the current `performance.now()`
   * @returns whether {@link enabled} changed
   */
  update(cores: number, now: number = performance.now()): boolean {
    const elapsed = now - this.#windowStart;
    if (elapsed <= 0) return false;
    const share = cores > 0 ? this.#demandMs / elapsed / cores : 0;
    const rate = (this.#answered * 1000) / elapsed;
    const shed = this.#shed;
    this.#demandMs = 0;
    this.#answered = 0;
    this.#shed = false;
    this.#windowStart = now;
    if (this.enabled) {
      if (share < SATURATED || now - this.#resumedAt < RESUME_GRACE_MS) {
        this.#saturatedRates = [];
        return false;
      }
      this.#saturatedRates.push(rate);
      if (this.#saturatedRates.length < SATURATED_WINDOWS) return false;
      this.#capacity = _mean(this.#saturatedRates);
      this.#saturatedRates = [];
      this.#stoppedAt = now;
      this.enabled = false;
      return true;
    }
    // `<=`: runs that were answered slowly when the pool saturated leave a rate of about 0.
    const slower = !shed && rate <= RESUME_BELOW * this.#capacity;
    const recheck = !shed && now - this.#stoppedAt >= RECHECK_MS;
    if (!slower && !recheck && share >= RESUME_SHARE) return false;
    this.enabled = true;
    this.#resumedAt = now;
    return true;
  }
}

function _mean(values: number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}
