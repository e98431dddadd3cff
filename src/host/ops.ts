/**
 * The host calls a contract can make, as seen from both ends.
 *
 * Shims in the worker call `hostCall(op, args)`; the sandbox process relays the call to the
 * server, which answers it in `src/host/capabilities.ts`. Every op is a read.
 *
 * @module
 */
import type { Block, KvEntry, KvListPage, Transaction, User } from "../store/types.ts";

/** A fetch as requested by `tana:utils`; bodies travel base64-encoded. */
export interface FetchArgs {
  /** Absolute URL to fetch. */
  url: string;
  /** HTTP method. */
  method: string;
  /** Request headers as name/value pairs. */
  headers: [string, string][];
  /** Request body, base64-encoded, or `null` for none. */
  bodyBase64: string | null;
}

/** A fetch answer as returned to `tana:utils`. */
export interface FetchResult {
  /** HTTP status code. */
  status: number;
  /** HTTP status text. */
  statusText: string;
  /** Final URL, after redirects. */
  url: string;
  /** Response headers as name/value pairs. */
  headers: [string, string][];
  /** Response body, base64-encoded. */
  bodyBase64: string;
}

/** Argument and result types of every host op, keyed by op name. */
export interface HostOps {
  /** Reads one KV key of the calling contract. */
  "kv.get": { args: { key: string }; result: KvEntry | null };
  /** Lists KV keys of the calling contract. */
  "kv.list": {
    args: { prefix?: string; limit?: number; cursor?: string };
    result: KvListPage;
  };
  /** The latest block. */
  "block.latest": { args: Record<string, never>; result: Block | null };
  /** Blocks by height. */
  "block.blocks": { args: { heights: number[] }; result: (Block | null)[] };
  /** Users by id or username. */
  "block.users": { args: { ids: string[] }; result: (User | null)[] };
  /** Balances of users in one currency. */
  "block.balances": { args: { userIds: string[]; currencyCode: string }; result: number[] };
  /** Transactions by id. */
  "block.transactions": { args: { ids: string[] }; result: (Transaction | null)[] };
  /** An HTTP fetch to an allow-listed host. */
  "fetch": { args: FetchArgs; result: FetchResult };
}

/** Name of a host op. */
export type HostOp = keyof HostOps;

/** Every op name, for validating what arrives from a sandbox. */
export const HOST_OPS: readonly HostOp[] = [
  "kv.get",
  "kv.list",
  "block.latest",
  "block.blocks",
  "block.users",
  "block.balances",
  "block.transactions",
  "fetch",
];
