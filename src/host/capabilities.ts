/**
 * The server side of host calls: what a contract may ask for, checked and answered here.
 *
 * Everything that arrives from a sandbox is untrusted input: each op validates its arguments,
 * every read is scoped to the calling contract, and fetch only reaches allow-listed hosts.
 *
 * @module
 */
import type { Config } from "../config.ts";
import { InvalidArgumentError, StoreUnavailableError } from "../errors.ts";
import type { ContractRow, Store } from "../store/types.ts";
import { fetchAllowed } from "./fetch.ts";
import type { HostOp } from "./ops.ts";
// The limits the shims promise contracts, checked again here where contract code cannot reach.
import { MAX_BATCH_QUERY, MAX_KEY_BYTES, MAX_LIST_LIMIT } from "../shims/_runtime.ts";
import { HOST_OPS } from "./ops.ts";

/** Per-request state host calls need. */
export interface CallContext {
  /** The contract making the calls. */
  contract: ContractRow;
  /** Fetches made so far in this request. */
  fetches: number;
  /** Set when a call failed because the store was unreachable. */
  storeFailed: boolean;
}

/** An error passed back to the contract as a rejection. */
export class HostCallError extends Error {
  /**
   * Creates the error.
   *
   * @param name the error name the contract sees (`TypeError`, `RangeError`, `FetchError`)
   * @param message what went wrong
   */
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** Answers host calls for contracts. */
export class HostCapabilities {
  /**
   * Creates the capabilities over one store.
   *
   * @param store where reads go
   * @param config fetch allow-list and limits
   */
  constructor(readonly store: Store, readonly config: Config) {}

  /**
   * Performs one host call.
   *
   * @param ctx the calling request
   * @param op the op name, as sent by the sandbox
   * @param args its arguments, unvalidated
   * @returns a structured-clone-safe answer
   */
  async handle(ctx: CallContext, op: string, args: unknown): Promise<unknown> {
    if (!HOST_OPS.includes(op as HostOp)) {
      throw new HostCallError("TypeError", `Unknown host call "${op}"`);
    }
    const a = (args ?? {}) as Record<string, unknown>;
    const id = ctx.contract.id;
    try {
      switch (op as HostOp) {
        case "kv.get":
          return await this.store.kvGet(id, _key(a.key));
        case "kv.list": {
          const limit = a.limit === undefined
            ? MAX_LIST_LIMIT
            : _int(a.limit, "limit", 1, MAX_LIST_LIMIT);
          return await this.store.kvList(id, {
            prefix: _optString(a.prefix, "prefix"),
            cursor: _optString(a.cursor, "cursor"),
            limit,
          });
        }
        case "block.latest":
          return await this.store.latestBlock();
        case "block.blocks":
          return await this.store.getBlocks(
            _batch(a.heights, "heights", (v) => _int(v, "height", 0)),
          );
        case "block.users":
          return await this.store.getUsers(_batch(a.ids, "ids", (v) => _string(v, "id")));
        case "block.balances":
          return await this.store.getBalances(
            _batch(a.userIds, "userIds", (v) => _string(v, "userId")),
            _string(a.currencyCode, "currencyCode"),
          );
        case "block.transactions":
          return await this.store.getTransactions(_batch(a.ids, "ids", (v) => _string(v, "id")));
        case "fetch":
          if (++ctx.fetches > this.config.maxFetches) {
            throw new HostCallError(
              "FetchError",
              `Fetch limit exceeded: ${this.config.maxFetches} per request`,
            );
          }
          return await fetchAllowed(a, this.config);
      }
    } catch (error) {
      if (error instanceof StoreUnavailableError) {
        ctx.storeFailed = true;
        throw new HostCallError("StoreUnavailableError", "The ledger store is unavailable");
      }
      if (error instanceof InvalidArgumentError) {
        throw new HostCallError("TypeError", error.message);
      }
      throw error;
    }
  }
}

function _string(value: unknown, name: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new HostCallError("TypeError", `${name} must be a non-empty string`);
  }
  return value;
}

function _optString(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new HostCallError("TypeError", `${name} must be a string`);
  return value;
}

function _key(value: unknown): string {
  const key = _string(value, "key");
  if (new TextEncoder().encode(key).byteLength > MAX_KEY_BYTES) {
    throw new HostCallError("TypeError", `key must be at most ${MAX_KEY_BYTES} bytes`);
  }
  return key;
}

function _int(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new HostCallError("RangeError", `${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function _batch<T>(value: unknown, name: string, check: (v: unknown) => T): T[] {
  if (!Array.isArray(value)) throw new HostCallError("TypeError", `${name} must be an array`);
  if (value.length > MAX_BATCH_QUERY) {
    throw new HostCallError(
      "RangeError",
      `${name}: at most ${MAX_BATCH_QUERY} per query (MAX_BATCH_QUERY), got ${value.length}`,
    );
  }
  return value.map(check);
}
