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
  url: string;
  method: string;
  headers: [string, string][];
  bodyBase64: string | null;
}

/** A fetch answer as returned to `tana:utils`. */
export interface FetchResult {
  status: number;
  statusText: string;
  url: string;
  headers: [string, string][];
  bodyBase64: string;
}

/** Argument and result types of every host op, keyed by op name. */
export interface HostOps {
  "kv.get": { args: { key: string }; result: KvEntry | null };
  "kv.list": {
    args: { prefix?: string; limit?: number; cursor?: string };
    result: KvListPage;
  };
  "block.latest": { args: Record<string, never>; result: Block | null };
  "block.blocks": { args: { heights: number[] }; result: (Block | null)[] };
  "block.users": { args: { ids: string[] }; result: (User | null)[] };
  "block.balances": { args: { userIds: string[]; currencyCode: string }; result: number[] };
  "block.transactions": { args: { ids: string[] }; result: (Transaction | null)[] };
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
