/**
 * Read-ahead: the reads a contract makes on every request, performed before it runs.
 *
 * A host call costs a round trip from the worker to the server and back (≈ 0.5 ms here, measured),
 * and a handler that awaits its reads in turn pays it once per read. Most read handlers read the
 * same keys every time (settings, counters, the latest block), so the server learns, per contract
 * version and method, which calls each run made, performs the stable ones when the next request
 * is admitted, and ships the answers with the run. The worker answers a matching call from them
 * once; any other call goes to the host as usual.
 *
 * What the contract sees does not change: the answer is what the same call would have returned a
 * moment later (edge handlers are read-only, so nothing the request does can change it), and a
 * call whose read-ahead failed is simply made again. A key is read ahead only after two runs in a
 * row made the same call, so reads that depend on the request (`user:${id}`) are never guessed.
 *
 * @module
 */
import { LruCache } from "../contracts/lru.ts";
import type { CallContext, HostCapabilities } from "./capabilities.ts";
import type { HostOp } from "./ops.ts";

/** Ops that are pure reads of the store and may be performed ahead (not `fetch`, not lists). */
const READ_AHEAD_OPS: ReadonlySet<string> = new Set<HostOp>([
  "kv.get",
  "block.latest",
  "block.blocks",
  "block.users",
  "block.balances",
  "block.transactions",
]);
/** A call's answer larger than this (as JSON) is not worth shipping with every request. */
const MAX_ANSWER_CHARS = 16 * 1024;
/** Distinct calls remembered per contract version and method. */
const MAX_CALLS_TRACKED = 64;
/** Contract versions and methods remembered. */
const MAX_PLANS = 1024;
/** Runs in a row a call must be seen in before it is read ahead; also the score's ceiling. */
const STABLE_AFTER = 2;
const MAX_SCORE = 3;

/** One host call, as the worker names it: `op` and the JSON of its arguments. */
export interface PlannedCall {
  /** The call's key, `${op} ${JSON.stringify(args)}`, as the worker computes it. */
  key: string;
  /** Op name. */
  op: string;
  /** Op arguments. */
  args: unknown;
}

interface Tracked extends PlannedCall {
  score: number;
}

/**
 * The key of one host call. The worker's runtime computes the same string (`hostCall` in
 * `src/shims/_runtime.ts`), which is how it matches a call with its answer.
 */
export function callKey(op: string, args: unknown): string {
  return `${op} ${JSON.stringify(args)}`;
}

/** Learns the stable reads of each contract version and method. */
export class ReadAhead {
  #plans = new LruCache<string, Map<string, Tracked>>(MAX_PLANS);

  /**
   * Creates the learner.
   *
   * @param maxCalls most calls read ahead for one request; 0 turns read-ahead off
   */
  constructor(readonly maxCalls: number) {}

  /**
   * The calls to perform before the next run of `plan`.
   *
   * @param plan contract id, code hash and method, joined
   */
  plan(plan: string): PlannedCall[] {
    if (this.maxCalls === 0) return [];
    const tracked = this.#plans.get(plan);
    if (!tracked) return [];
    const calls: PlannedCall[] = [];
    for (const call of tracked.values()) {
      if (call.score < STABLE_AFTER) continue;
      calls.push({ key: call.key, op: call.op, args: call.args });
      if (calls.length === this.maxCalls) break;
    }
    return calls;
  }

  /**
   * Performs the calls planned for `plan`, for one request.
   *
   * @param host answers the calls, with the same checks as the contract's own
   * @param ctx the request's call context (copied: a failure here is not the request's)
   * @param plan contract id, code hash and method, joined
   * @returns the answers by call key; a call that failed is left out, so the contract makes it
   */
  async perform(
    host: HostCapabilities,
    ctx: CallContext,
    plan: string,
  ): Promise<Record<string, unknown>> {
    const calls = this.plan(plan);
    if (calls.length === 0) return {};
    const own: CallContext = { ...ctx, storeFailed: false };
    const answers = await Promise.all(
      calls.map((call) =>
        host.handle(own, call.op, call.args).then((answer) => [call.key, answer], () => null)
      ),
    );
    return Object.fromEntries(answers.filter((entry) => entry !== null));
  }

  /**
   * Whether an answer to this call may be learned: a pure read with a small answer.
   *
   * @param op the op name
   * @param answer what the host returned
   */
  learnable(op: string, answer: unknown): boolean {
    if (this.maxCalls === 0 || !READ_AHEAD_OPS.has(op)) return false;
    return (JSON.stringify(answer) ?? "").length <= MAX_ANSWER_CHARS;
  }

  /**
   * Records what one completed run read: calls it made to the host and answers it used from the
   * read-ahead. Calls it did not make lose standing and are eventually forgotten.
   *
   * @param plan contract id, code hash and method, joined
   * @param made learnable calls that went to the host
   * @param used keys of read-ahead answers the run used
   */
  record(plan: string, made: PlannedCall[], used: readonly string[]): void {
    if (this.maxCalls === 0) return;
    let tracked = this.#plans.get(plan);
    if (!tracked) {
      if (made.length === 0) return;
      tracked = new Map();
      this.#plans.set(plan, tracked);
    }
    const seen = new Set(used);
    for (const call of made) {
      seen.add(call.key);
      if (!tracked.has(call.key) && tracked.size < MAX_CALLS_TRACKED) {
        tracked.set(call.key, { ...call, score: 0 });
      }
    }
    for (const [key, call] of tracked) {
      if (seen.has(key)) call.score = Math.min(call.score + 1, MAX_SCORE);
      else if (--call.score <= 0) tracked.delete(key);
    }
    if (tracked.size === 0) this.#plans.delete(plan);
  }
}
