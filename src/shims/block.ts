/**
 * `tana:block` (also `tana/block`): chain state, read-only.
 *
 * Properties describe the latest block as of the start of the request (one snapshot per
 * request). On an empty chain they read as `0` / `""`; `getLatestBlock()` returns `null`.
 *
 * @module
 */
import type { Block, Transaction, User } from "../store/types.ts";
import { currentRequest, hostCall, latestBlock, MAX_BATCH_QUERY } from "./_runtime.ts";

export type { Block, Transaction, User };

export { MAX_BATCH_QUERY };

/** The `block` object. */
export interface TanaBlock {
  /** Height of the latest block. */
  readonly height: number;
  /** Timestamp of the latest block, in milliseconds since the epoch. */
  readonly timestamp: number;
  /** Hash of the latest block. */
  readonly hash: string;
  /** Hash of the block before the latest one. */
  readonly previousHash: string;
  /** Producer of the latest block. */
  readonly producer: string;
  /** Same as `producer`, for older contracts. */
  readonly executor: string;
  /** Gas limit of the latest block. */
  readonly gasLimit: number;
  /** Gas used by the latest block. */
  readonly gasUsed: number;
  /** Most ids one batch query may ask for: 10. */
  readonly MAX_BATCH_QUERY: 10;

  /** Same as `height`. */
  getHeight(): number;
  /** Same as `timestamp`. */
  getTimestamp(): number;
  /** Same as `hash`. */
  getHash(): string;
  /** Same as `previousHash`. */
  getPreviousHash(): string;
  /** Same as `executor`. */
  getExecutor(): string;
  /** Id of the contract being run. */
  getContractId(): string;
  /** Same as `gasLimit`. */
  getGasLimit(): number;
  /** Same as `gasUsed`. */
  getGasUsed(): number;

  /** A user by id or username; `null` when there is none. */
  getUser(idOrUsername: string): Promise<User | null>;
  /** Up to 10 users by id or username, in the same order, `null` for misses. */
  getUser(idsOrUsernames: string[]): Promise<(User | null)[]>;
  /** A user's balance in one currency, by user id (not username); `0` when absent. */
  getBalance(userId: string, currencyCode: string): Promise<number>;
  /** Balances of up to 10 users (by user id) in one currency, in order, `0` when absent. */
  getBalance(userIds: string[], currencyCode: string): Promise<number[]>;
  /** A transaction by id; `null` when there is none. */
  getTransaction(txId: string): Promise<Transaction | null>;
  /** Up to 10 transactions by id, in the same order, `null` for misses. */
  getTransaction(txIds: string[]): Promise<(Transaction | null)[]>;
  /** A block by height; `null` when there is none. */
  getBlock(height: number): Promise<Block | null>;
  /** Up to 10 blocks by height, in the same order, `null` for misses. */
  getBlock(heights: number[]): Promise<(Block | null)[]>;
  /** The latest block as the host sees it now (may be newer than the properties). */
  getLatestBlock(): Promise<Block | null>;
}

/**
 * Chain state.
 *
 * @example
 * ```ts
 * import { block } from "tana:block";
 * export async function get() {
 *   const [alice, bob] = await block.getUser(["alice", "bob"]); // by username or id
 *   const usd = alice ? await block.getBalance(alice.id, "USD") : 0; // balances are by user id
 *   return { height: block.height, alice, bob, usd };
 * }
 * ```
 */
export const block: TanaBlock = Object.freeze({
  get height() {
    return latestBlock()?.height ?? 0;
  },
  get timestamp() {
    return latestBlock()?.timestamp ?? 0;
  },
  get hash() {
    return latestBlock()?.hash ?? "";
  },
  get previousHash() {
    return latestBlock()?.previousHash ?? "";
  },
  get producer() {
    return latestBlock()?.producer ?? "";
  },
  get executor() {
    return latestBlock()?.producer ?? "";
  },
  get gasLimit() {
    return latestBlock()?.gasLimit ?? 0;
  },
  get gasUsed() {
    return latestBlock()?.gasUsed ?? 0;
  },
  MAX_BATCH_QUERY,

  getHeight: () => block.height,
  getTimestamp: () => block.timestamp,
  getHash: () => block.hash,
  getPreviousHash: () => block.previousHash,
  getExecutor: () => block.executor,
  getContractId: () => currentRequest().tana.contract.id,
  getGasLimit: () => block.gasLimit,
  getGasUsed: () => block.gasUsed,

  getUser,
  getBalance,
  getTransaction,
  getBlock,
  getLatestBlock: () => hostCall("block.latest", {}),
});

function getUser(idOrUsername: string): Promise<User | null>;
function getUser(idsOrUsernames: string[]): Promise<(User | null)[]>;
async function getUser(ids: string | string[]): Promise<User | null | (User | null)[]> {
  const list = _ids(ids, "block.getUser", "id or username");
  const users = list.length === 0 ? [] : await hostCall("block.users", { ids: list });
  return Array.isArray(ids) ? users : users[0] ?? null;
}

function getBalance(userId: string, currencyCode: string): Promise<number>;
function getBalance(userIds: string[], currencyCode: string): Promise<number[]>;
async function getBalance(
  ids: string | string[],
  currencyCode: string,
): Promise<number | number[]> {
  const userIds = _ids(ids, "block.getBalance", "user id");
  if (typeof currencyCode !== "string" || currencyCode === "") {
    throw new TypeError("block.getBalance: currencyCode must be a non-empty string");
  }
  const balances = userIds.length === 0
    ? []
    : await hostCall("block.balances", { userIds, currencyCode });
  return Array.isArray(ids) ? balances : balances[0] ?? 0;
}

function getTransaction(txId: string): Promise<Transaction | null>;
function getTransaction(txIds: string[]): Promise<(Transaction | null)[]>;
async function getTransaction(
  ids: string | string[],
): Promise<Transaction | null | (Transaction | null)[]> {
  const list = _ids(ids, "block.getTransaction", "transaction id");
  const txs = list.length === 0 ? [] : await hostCall("block.transactions", { ids: list });
  return Array.isArray(ids) ? txs : txs[0] ?? null;
}

function getBlock(height: number): Promise<Block | null>;
function getBlock(heights: number[]): Promise<(Block | null)[]>;
async function getBlock(heights: number | number[]): Promise<Block | null | (Block | null)[]> {
  const list = _batch(heights, "block.getBlock", "heights");
  for (const height of list) {
    if (typeof height !== "number" || !Number.isSafeInteger(height) || height < 0) {
      throw new TypeError(
        `block.getBlock: height must be a non-negative integer, got ${_show(height)}`,
      );
    }
  }
  const blocks = list.length === 0 ? [] : await hostCall("block.blocks", { heights: list });
  return Array.isArray(heights) ? blocks : blocks[0] ?? null;
}

function _batch<T>(value: T | T[], where: string, what: string): T[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length > MAX_BATCH_QUERY) {
    throw new RangeError(
      `${where}: at most ${MAX_BATCH_QUERY} ${what} per call (MAX_BATCH_QUERY), got ${list.length}`,
    );
  }
  return list;
}

function _ids(value: string | string[], where: string, what: string): string[] {
  const list = _batch(value, where, "ids");
  for (const id of list) {
    if (typeof id !== "string" || id === "") {
      throw new TypeError(`${where}: each ${what} must be a non-empty string, got ${_show(id)}`);
    }
  }
  return list;
}

function _show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}

/** The module as one object: `import block from "tana:block"`. */
export default block;
