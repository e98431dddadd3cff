/**
 * How long a run keeps its sandbox's turn: the time after which a run still computing counts as
 * long, and lets newer runs into its sandbox to share the cores with it.
 *
 * A fixed turn cannot suit every machine and load, because a run's time depends on how busy the
 * cores are: a hello run takes 2–4 ms at light load on the 2-core benchmark machine and ~40 ms at
 * twice its capacity, where each run spawns its own worker on cores that the HTTP process and the
 * other sandbox also want. With a fixed 50 ms turn, the slower runs of that overload let a second
 * run into their sandbox, which slowed both, so more of them outlasted their turn
 * (bench/README.md).
 *
 * So the turn follows the runs: {@link TURN_FACTOR} times the median time from dispatch to answer
 * of the last {@link SAMPLES} runs, between {@link MIN_TURN_MS} and {@link MAX_TURN_MS}. The
 * median, because one tenant's long runs should not lengthen every run's turn unless they are
 * most of the traffic. Only runs that made no host call count: their time is the sandbox's own
 * work (a run waiting for the host leaves its turn anyway).
 *
 * @module
 */

/** The shortest turn: what a run gets whatever the recent runs took. */
export const MIN_TURN_MS = 50;
/** The longest turn: a run computing longer lets others in, however slow recent runs were. */
export const MAX_TURN_MS = 250;
/** A turn is this many times the median recent run. */
export const TURN_FACTOR = 3;
/** How many recent runs the median is taken over. */
export const SAMPLES = 32;

/** The current turn length, from the runs that ended recently. */
export class Turn {
  #recent: number[] = [];
  #next = 0;
  #ms = MIN_TURN_MS;

  /** The current turn, in ms. */
  get ms(): number {
    return this.#ms;
  }

  /**
   * Records a run that answered without making a host call.
   *
   * @param ms its time from dispatch to its answer
   */
  record(ms: number): void {
    this.#recent[this.#next] = ms;
    this.#next = (this.#next + 1) % SAMPLES;
    const sorted = this.#recent.toSorted((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    this.#ms = Math.min(MAX_TURN_MS, Math.max(MIN_TURN_MS, TURN_FACTOR * median));
  }
}
