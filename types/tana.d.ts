/**
 * Type declarations of the `tana:*` modules available to Tana contracts at the edge.
 *
 * Every module is declared under both spellings, `tana:kv` and `tana/kv`. These declarations
 * mirror `src/shims/*.ts` export for export; `types/conformance_check.ts` keeps them in step.
 * See `types/README.md` for how to reference this file.
 */

declare module "tana:core" {
  /** The tana-edge release. */
  export const TANA_VERSION: "0.1.0";

  /** A console whose lines become log records tagged with the contract and request ids. */
  export interface TanaConsole {
    /** Logs at level `info` (there is no separate `log` level). */
    log(...args: unknown[]): void;
    /** Logs at level `info`. */
    info(...args: unknown[]): void;
    /** Logs at level `warn`. */
    warn(...args: unknown[]): void;
    /** Logs at level `error`. */
    error(...args: unknown[]): void;
    /** Logs at level `debug`. */
    debug(...args: unknown[]): void;
  }

  /** Versions of the software running the contract; `"unknown"` where the host did not say. */
  export interface TanaVersion {
    readonly tana: string;
    readonly deno: string;
    readonly v8: string;
    readonly typescript: string;
  }

  /** Console for contracts; output is captured, never written raw to the host's stdout. */
  export const console: TanaConsole;
  /** Runtime versions, e.g. `{ tana: "0.1.0", deno: "2.9.6", v8: "…", typescript: "…" }`. */
  export const version: TanaVersion;

  const core: { console: TanaConsole; version: TanaVersion };
  export default core;
}

declare module "tana/core" {
  export * from "tana:core";
  export { default } from "tana:core";
}

declare module "tana:kv" {
  /** Raised by every write attempted from an edge handler. */
  export class ReadOnlyError extends Error {
    /** @param message what was refused */
    constructor(message?: string);
  }

  /** Longest key accepted, in UTF-8 bytes. */
  export const MAX_KEY_BYTES: 512;
  /** Default and maximum `limit` of `kv.list`; larger limits are clamped to it. */
  export const MAX_LIST_LIMIT: 1000;

  /** How `get` decodes a value. */
  export type KvValueType = "text" | "json" | "arrayBuffer";
  /** The second argument of `get`: a type name or `{ type }`. */
  export type KvGetOptions<T extends KvValueType = KvValueType> = T | { type?: T };

  /** What `getWithMetadata` resolves to; both fields are `null` when the key is missing. */
  export interface KvValueWithMetadata<V, M = unknown> {
    value: V | null;
    metadata: M | null;
  }

  /** Options of `list`. */
  export interface KvListOptions {
    /** Only keys starting with this. */
    prefix?: string | null;
    /** Page size, 1–1000 (default 1000; larger values are clamped to 1000). */
    limit?: number | null;
    /** The `cursor` of the previous page. */
    cursor?: string | null;
  }

  /** One key of a `list` page. */
  export interface KvListKey<M = unknown> {
    name: string;
    metadata?: M;
  }

  /** One page of keys, in key order. `cursor` is set when `list_complete` is false. */
  export interface KvListResult<M = unknown> {
    keys: KvListKey<M>[];
    list_complete: boolean;
    cursor?: string;
  }

  /** Options of `put`, accepted only to be refused. */
  export interface KvPutOptions {
    metadata?: unknown;
    expiration?: number;
    expirationTtl?: number;
  }

  /** The `kv` object. */
  export interface TanaKv {
    /** Reads a value as text; `null` when missing. */
    get(key: string, type?: KvGetOptions<"text">): Promise<string | null>;
    /** Reads a value and parses it as JSON; rejects with `SyntaxError` if it is not JSON. */
    get<T = unknown>(key: string, type: KvGetOptions<"json">): Promise<T | null>;
    /** Reads a value as the bytes of its UTF-8 text. */
    get(key: string, type: KvGetOptions<"arrayBuffer">): Promise<ArrayBuffer | null>;
    /** Reads a value decoded as `type`. */
    get(key: string, type?: KvGetOptions): Promise<unknown>;
    /** Reads a value as text with its metadata. */
    getWithMetadata<M = unknown>(
      key: string,
      type?: KvGetOptions<"text">,
    ): Promise<KvValueWithMetadata<string, M>>;
    /** Reads a value parsed as JSON with its metadata. */
    getWithMetadata<T = unknown, M = unknown>(
      key: string,
      type: KvGetOptions<"json">,
    ): Promise<KvValueWithMetadata<T, M>>;
    /** Reads a value as bytes with its metadata. */
    getWithMetadata<M = unknown>(
      key: string,
      type: KvGetOptions<"arrayBuffer">,
    ): Promise<KvValueWithMetadata<ArrayBuffer, M>>;
    /** Reads a value decoded as `type`, with its metadata. */
    getWithMetadata(key: string, type?: KvGetOptions): Promise<KvValueWithMetadata<unknown>>;
    /** Lists keys in key order, one page at a time. */
    list<M = unknown>(options?: KvListOptions): Promise<KvListResult<M>>;
    /** Always rejects with `ReadOnlyError`: edge handlers cannot write. */
    put(
      key: string,
      value: string | ArrayBuffer | ArrayBufferView,
      options?: KvPutOptions,
    ): Promise<void>;
    /** Always rejects with `ReadOnlyError`: edge handlers cannot write. */
    delete(key: string): Promise<void>;
  }

  /** The contract's own key-value storage, read-only at the edge. */
  export const kv: TanaKv;
  export default kv;
}

declare module "tana/kv" {
  export * from "tana:kv";
  export { default } from "tana:kv";
}

declare module "tana:block" {
  /** A block. Timestamps are milliseconds since the epoch. */
  export interface Block {
    height: number;
    timestamp: number;
    hash: string;
    previousHash: string;
    producer: string;
    gasLimit: number;
    gasUsed: number;
    txCount: number;
  }

  /** A user. */
  export interface User {
    id: string;
    username: string;
    displayName: string;
    publicKey: string | null;
    createdAt: number;
  }

  /** A transaction. */
  export interface Transaction {
    id: string;
    from: string | null;
    to: string | null;
    amount: number;
    currencyCode: string;
    type: string;
    status: string;
    blockHeight: number | null;
    timestamp: number;
    contractId: string | null;
  }

  /** Most ids (or heights) one batch query may ask for. */
  export const MAX_BATCH_QUERY: 10;

  /**
   * The `block` object. Properties describe the latest block as of the start of the request;
   * on an empty chain they read as `0` / `""`.
   */
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

  /** Chain state, read-only. */
  export const block: TanaBlock;
  export default block;
}

declare module "tana/block" {
  export * from "tana:block";
  export { default } from "tana:block";
}

declare module "tana:context" {
  /** The latest block as `context.block()` reports it. */
  export interface ContextBlock {
    height: number;
    timestamp: number;
    hash: string;
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

  /** Request context. */
  export const context: TanaContext;
  export default context;
}

declare module "tana/context" {
  export * from "tana:context";
  export { default } from "tana:context";
}

declare module "tana:utils" {
  /** Request headers: an object, `[name, value]` pairs, or anything iterable as pairs. */
  export type FetchHeadersInit =
    | Record<string, string>
    | Iterable<readonly [string, string]>;

  /** Options of `fetch`. */
  export interface FetchInit {
    /** HTTP method; default `"GET"`. */
    method?: string;
    headers?: FetchHeadersInit;
    /** Text (sent as UTF-8) or bytes; not allowed with GET or HEAD. */
    body?: string | ArrayBuffer | ArrayBufferView | null;
  }

  /** Response headers, looked up case-insensitively. */
  export interface FetchHeaders extends Iterable<[string, string]> {
    /** The value, several values joined with `", "`, or `null`. */
    get(name: string): string | null;
    has(name: string): boolean;
    /** Pairs with lower-cased names, in the order received. */
    entries(): IterableIterator<[string, string]>;
    forEach(callback: (value: string, name: string) => void): void;
  }

  /** What `fetch` resolves to. The body may be read any number of times. */
  export interface FetchResponse {
    /** `true` for status 200–299. */
    readonly ok: boolean;
    readonly status: number;
    readonly statusText: string;
    readonly headers: FetchHeaders;
    /** The final URL, after redirects. */
    readonly url: string;
    text(): Promise<string>;
    /** Parses the body as JSON; rejects with `SyntaxError` if it is not JSON. */
    json<T = unknown>(): Promise<T>;
    arrayBuffer(): Promise<ArrayBuffer>;
  }

  /**
   * Fetches a URL through the host, which only reaches hosts on the operator's allow-list and
   * bounds the number of calls, their time and the response size.
   */
  export function fetch(url: string | URL, init?: FetchInit): Promise<FetchResponse>;

  const utils: { fetch: typeof fetch };
  export default utils;
}

declare module "tana/utils" {
  export * from "tana:utils";
  export { default } from "tana:utils";
}

declare module "tana:net" {
  /** The request a handler receives (`get(req)`, `post(req, body)`). */
  export interface TanaRequest {
    /** The full URL. */
    url: string;
    method: string;
    /** The part after `/{contractId}`; `/` if none. */
    path: string;
    /** Path segments after the contract id. */
    params: string[];
    query: Record<string, string>;
    /** Header names lower-cased. */
    headers: Record<string, string>;
    ip: string;
    /** The parsed JSON body of a POST. */
    body: unknown;
    tana: {
      contract: { id: string; name: string; owner: string; version: number; codeHash: string };
      /** The authenticated user, or `null`. */
      caller: unknown | null;
      session: unknown | null;
    };
  }

  /** The request a handler receives (`get(req)`, `post(req, body)`). */
  export type Request = TanaRequest;
  /** A run-time placeholder for the `Request` type; always `undefined`. */
  export const Request: undefined;

  /** A value JSON can represent exactly. */
  export type JsonValue =
    | string
    | number
    | boolean
    | null
    | JsonValue[]
    | { [key: string]: JsonValue };
  /** A run-time placeholder for the `JsonValue` type; always `undefined`. */
  export const JsonValue: undefined;

  /** Response headers: an object, `[name, value]` pairs, or anything iterable as pairs. */
  export type ResponseHeadersInit =
    | Record<string, string>
    | Iterable<readonly [string, string]>;

  /** Status and headers, as in the Fetch API. */
  export interface ResponseInit {
    /** 200–599; default 200. */
    status?: number;
    headers?: ResponseHeadersInit;
  }

  /**
   * An HTTP response with an exact status, headers and body. `new Response(body, init)` takes
   * a string (sent as `text/plain` unless a `content-type` header says otherwise) or `null`.
   */
  export class Response {
    /** HTTP status, 200–599. */
    readonly status: number;
    /** Header names lower-cased; repeated names joined with `", "`. */
    readonly headers: Record<string, string>;
    /** The body as sent. */
    readonly bodyText: string;
    /**
     * @throws {TypeError} for a body that is not text, or an invalid header
     * @throws {RangeError} for a status outside 200–599
     */
    constructor(body?: string | null, init?: ResponseInit);
    /** A JSON response; throws `TypeError` when `data` is not JSON-serialisable. */
    static json(data: unknown, status?: number, headers?: ResponseHeadersInit): Response;
    /** A JSON response with `{ status, headers }`, as in the Fetch API. */
    static json(data: unknown, init?: ResponseInit): Response;
    /** A `text/plain; charset=utf-8` response. */
    static text(text: string, status?: number, headers?: ResponseHeadersInit): Response;
    /** A plain-text response with `{ status, headers }`, as in the Fetch API. */
    static text(text: string, init?: ResponseInit): Response;
  }

  const net: { Response: typeof Response };
  export default net;
}

declare module "tana/net" {
  export * from "tana:net";
  export { default } from "tana:net";
}

declare module "tana:tx" {
  export { ReadOnlyError } from "tana:kv";

  /** A staged transfer between two users. */
  export interface TransferChange {
    type: "transfer";
    from: string;
    to: string;
    amount: number;
    currency: string;
  }

  /** A staged absolute balance. */
  export interface BalanceChange {
    type: "balance_update";
    userId: string;
    amount: number;
    currency: string;
  }

  /** A change staged with `tx`. */
  export type TransactionChange = TransferChange | BalanceChange;

  /** What `execute()` resolves to on the ledger; at the edge it always rejects. */
  export interface TransactionResult {
    success: boolean;
    changes: TransactionChange[];
    gasUsed: number;
    error?: string;
  }

  /** The `tx` object. */
  export interface TanaTx {
    /** Stages a transfer of a positive `amount` of `currency` between two different users. */
    transfer(from: string, to: string, amount: number, currency: string): void;
    /** Stages setting a user's balance to a non-negative `amount`. */
    setBalance(userId: string, amount: number, currency: string): void;
    /** Copies of the changes staged so far, in order. */
    getChanges(): TransactionChange[];
    /** Always rejects with `ReadOnlyError` at the edge. */
    execute(): Promise<TransactionResult>;
  }

  /** Transaction staging; `execute()` is refused at the edge. */
  export const tx: TanaTx;
  export default tx;
}

declare module "tana/tx" {
  export * from "tana:tx";
  export { default } from "tana:tx";
}

declare module "tana:data" {
  export { ReadOnlyError } from "tana:kv";

  /** A stored value as `data` returns it: objects and arrays parsed from JSON, else text. */
  export type DataValue = string | object;

  /** The `data` object. */
  export interface TanaData {
    /** Ledger limit on key size, in bytes. */
    readonly MAX_KEY_SIZE: 256;
    /** Ledger limit on value size, in bytes. */
    readonly MAX_VALUE_SIZE: 10240;
    /** Ledger limit on a contract's total data, in bytes. */
    readonly MAX_TOTAL_SIZE: 102400;
    /** Ledger limit on a contract's key count; `keys()` and `entries()` read at most this many. */
    readonly MAX_KEYS: 1000;

    /** A value (objects and arrays parsed from JSON), or `null` when missing. */
    get(key: string): Promise<DataValue | null>;
    /** Whether the key exists. */
    has(key: string): Promise<boolean>;
    /** Keys in key order, optionally matching a glob (`*` any run, `?` one character). */
    keys(pattern?: string): Promise<string[]>;
    /** Every key with its value. */
    entries(): Promise<Record<string, DataValue>>;
    /** Always rejects with `ReadOnlyError` at the edge. */
    set(key: string, value: DataValue): Promise<void>;
    /** Always rejects with `ReadOnlyError` at the edge. */
    delete(key: string): Promise<void>;
    /** Always rejects with `ReadOnlyError` at the edge. */
    clear(): Promise<void>;
    /** Always rejects with `ReadOnlyError` at the edge. */
    commit(): Promise<void>;
  }

  /** Contract data (the same storage as `tana:kv`), read-only at the edge. */
  export const data: TanaData;
  export default data;
}

declare module "tana/data" {
  export * from "tana:data";
  export { default } from "tana:data";
}
