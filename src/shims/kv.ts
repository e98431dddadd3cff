/**
 * `tana:kv` (also `tana/kv`): the contract's own key-value storage, read-only at the edge.
 *
 * Modelled on the Cloudflare Workers KV API. Values are stored as text; `"json"` and
 * `"arrayBuffer"` are decoded here.
 *
 * @module
 */
import { checkKey, hostCall, MAX_KEY_BYTES, MAX_LIST_LIMIT, ReadOnlyError } from "./_runtime.ts";

export { MAX_KEY_BYTES, MAX_LIST_LIMIT, ReadOnlyError };

/** How `get` decodes a value. */
export type KvValueType = "text" | "json" | "arrayBuffer";
/** The second argument of `get`: a type name or `{ type }`. */
export type KvGetOptions<T extends KvValueType = KvValueType> = T | { type?: T };

/** What `getWithMetadata` resolves to; both fields are `null` when the key is missing. */
export interface KvValueWithMetadata<V, M = unknown> {
  /** The value, or `null` when the key is missing. */
  value: V | null;
  /** The key's metadata, or `null` when none or missing. */
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
  /** The key. */
  name: string;
  /** The key's metadata; absent when none was stored. */
  metadata?: M;
}

/** One page of keys, in key order. `cursor` is set when `list_complete` is false. */
export interface KvListResult<M = unknown> {
  /** Keys on this page, in key order. */
  keys: KvListKey<M>[];
  /** `true` when this is the last page. */
  list_complete: boolean;
  /** Cursor for the next page; absent on the last page. */
  cursor?: string;
}

/** Options of `put`, accepted only to be refused. */
export interface KvPutOptions {
  /** Metadata to store with the key (ignored: writes are refused). */
  metadata?: unknown;
  /** Expiry time in seconds since the epoch, as in Workers KV (ignored). */
  expiration?: number;
  /** Expiry in seconds from now, as in Workers KV (ignored). */
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

/**
 * The contract's KV namespace.
 *
 * @example
 * ```ts
 * import { kv } from "tana:kv";
 * export async function get() {
 *   const count = (await kv.get("count")) ?? "0";
 *   const config = await kv.get<{ title: string }>("config", "json");
 *   const page = await kv.list({ prefix: "user:", limit: 10 });
 *   return { count: parseInt(count), title: config?.title, users: page.keys.length };
 * }
 * ```
 */
export const kv: TanaKv = Object.freeze({ get, getWithMetadata, list, put, delete: del });

function get(key: string, type?: KvGetOptions<"text">): Promise<string | null>;
function get<T = unknown>(key: string, type: KvGetOptions<"json">): Promise<T | null>;
function get(key: string, type: KvGetOptions<"arrayBuffer">): Promise<ArrayBuffer | null>;
function get(key: string, type?: KvGetOptions): Promise<unknown>;
async function get(key: string, type?: KvGetOptions): Promise<unknown> {
  const name = checkKey(key, "kv.get");
  const as = _type(type, "kv.get");
  const entry = await hostCall("kv.get", { key: name });
  return entry === null ? null : _decode(entry.value, as, name);
}

function getWithMetadata<M = unknown>(
  key: string,
  type?: KvGetOptions<"text">,
): Promise<KvValueWithMetadata<string, M>>;
function getWithMetadata<T = unknown, M = unknown>(
  key: string,
  type: KvGetOptions<"json">,
): Promise<KvValueWithMetadata<T, M>>;
function getWithMetadata<M = unknown>(
  key: string,
  type: KvGetOptions<"arrayBuffer">,
): Promise<KvValueWithMetadata<ArrayBuffer, M>>;
function getWithMetadata(
  key: string,
  type?: KvGetOptions,
): Promise<KvValueWithMetadata<unknown>>;
async function getWithMetadata(
  key: string,
  type?: KvGetOptions,
): Promise<KvValueWithMetadata<unknown>> {
  const name = checkKey(key, "kv.getWithMetadata");
  const as = _type(type, "kv.getWithMetadata");
  const entry = await hostCall("kv.get", { key: name });
  if (entry === null) return { value: null, metadata: null };
  return { value: _decode(entry.value, as, name), metadata: entry.metadata ?? null };
}

async function list<M = unknown>(options: KvListOptions = {}): Promise<KvListResult<M>> {
  if (options === null || typeof options !== "object") {
    throw new TypeError("kv.list: options must be an object");
  }
  const args: { prefix?: string; limit: number; cursor?: string } = {
    limit: _limit(options.limit),
  };
  const prefix = _optionalString(options.prefix, "prefix");
  const cursor = _optionalString(options.cursor, "cursor");
  if (prefix) args.prefix = prefix;
  if (cursor) args.cursor = cursor;
  return await hostCall("kv.list", args) as KvListResult<M>;
}

function put(_key: string, _value: unknown, _options?: KvPutOptions): Promise<void> {
  return Promise.reject(new ReadOnlyError());
}

function del(_key: string): Promise<void> {
  return Promise.reject(new ReadOnlyError());
}

const _encoder = new TextEncoder();

function _type(type: unknown, where: string): KvValueType {
  const name = type !== null && typeof type === "object" ? (type as { type?: unknown }).type : type;
  if (name === undefined || name === null) return "text";
  if (name === "text" || name === "json" || name === "arrayBuffer") return name;
  throw new TypeError(
    `${where}: unsupported type ${JSON.stringify(name) ?? String(name)}; ` +
      `use "text", "json" or "arrayBuffer"`,
  );
}

function _decode(value: string, type: KvValueType, key: string): unknown {
  if (type === "text") return value;
  if (type === "arrayBuffer") return _encoder.encode(value).buffer;
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new SyntaxError(
      `kv: value of key ${JSON.stringify(key)} is not valid JSON: ${(error as Error).message}`,
    );
  }
}

// Above the maximum we clamp rather than fail: asking for "everything" is a common habit.
function _limit(limit: unknown): number {
  if (limit === undefined || limit === null) return MAX_LIST_LIMIT;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`kv.list: limit must be a positive integer, got ${String(limit)}`);
  }
  return Math.min(limit, MAX_LIST_LIMIT);
}

function _optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new TypeError(`kv.list: ${name} must be a string`);
  return value;
}

/** The module as one object: `import kv from "tana:kv"`. */
export default kv;
