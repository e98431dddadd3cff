/**
 * Keeps contracts that keep killing sandbox processes away from them for a while.
 *
 * @module
 */

/** Counts sandbox crashes per contract and quarantines repeat offenders. */
export class Quarantine {
  #strikes = new Map<string, number[]>();
  #until = new Map<string, number>();

  /**
   * Creates a quarantine with no strikes.
   *
   * @param threshold crashes within `windowMs` that quarantine a contract
   * @param windowMs the window crashes are counted in
   * @param durationMs how long a quarantine lasts
   */
  constructor(
    readonly threshold: number,
    readonly windowMs: number,
    readonly durationMs: number,
  ) {}

  /**
   * Records that a sandbox died while running the contract.
   *
   * @returns `true` when this strike put the contract into quarantine
   */
  strike(contractId: string, now = Date.now()): boolean {
    const recent = (this.#strikes.get(contractId) ?? []).filter((t) => now - t < this.windowMs);
    recent.push(now);
    this.#strikes.set(contractId, recent);
    if (recent.length < this.threshold || this.remainingMs(contractId, now) > 0) return false;
    this.#until.set(contractId, now + this.durationMs);
    this.#strikes.delete(contractId);
    return true;
  }

  /** Milliseconds of quarantine left for the contract; 0 when it is not quarantined. */
  remainingMs(contractId: string, now = Date.now()): number {
    const until = this.#until.get(contractId);
    if (until === undefined) return 0;
    if (until <= now) {
      this.#until.delete(contractId);
      return 0;
    }
    return until - now;
  }
}
