/**
 * `tana:context` (also `tana/context`): who and what the current request is about.
 *
 * @module
 */
import { currentRequest, latestBlock } from "./_runtime.ts";

/** The latest block as `context.block()` reports it. */
export interface ContextBlock {
  /** Block number. */
  height: number;
  /** Production time in ms since the epoch. */
  timestamp: number;
  /** Hex block hash. */
  hash: string;
  /** Id of the validator that produced the block. */
  producer: string;
}

/** The `context` object. */
export interface TanaContext {
  /** Owner of the contract being run. */
  owner(): string;
  /** The authenticated caller (same as `req.tana.caller`), or `null`. */
  caller(): unknown | null;
  /** The latest block as of the start of the request, or `null` on an empty chain. */
  block(): ContextBlock | null;
  /** The parsed JSON body of a POST, or `null` for any other method. */
  input(): unknown;
}

/**
 * Request context.
 *
 * @example
 * ```ts
 * import { context } from "tana:context";
 * export function post() {
 *   return { owner: context.owner(), caller: context.caller(), input: context.input() };
 * }
 * ```
 */
export const context: TanaContext = Object.freeze({
  owner: () => currentRequest().tana.contract.owner,
  caller: () => currentRequest().tana.caller ?? null,
  block(): ContextBlock | null {
    const latest = latestBlock();
    if (!latest) return null;
    const { height, timestamp, hash, producer } = latest;
    return { height, timestamp, hash, producer };
  },
  input(): unknown {
    const req = currentRequest();
    return req.method === "POST" ? req.body ?? null : null;
  },
});

/** The module as one object: `import context from "tana:context"`. */
export default context;
