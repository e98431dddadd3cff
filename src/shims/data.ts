/**
 * `tana:data` (also `tana/data`, older contracts): the same storage as `tana:kv`, read-only.
 *
 * Values that hold a JSON object or array are returned parsed (the ledger stores objects as
 * JSON); everything else is returned as the stored text.
 *
 * @module
 */
import { checkKey, hostCall, ReadOnlyError } from "./_runtime.ts";

export { ReadOnlyError };

/** A stored value as `data` returns it. */
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

const MAX_KEYS = 1000;
const PARALLEL_READS = 25;
const READ_ONLY = "Data is read-only in edge handlers; write through a transaction";

/**
 * Contract data, read-only.
 *
 * @example
 * ```ts
 * import { data } from "tana:data";
 * export async function get() {
 *   return { users: await data.keys("user:*"), config: await data.get("config") };
 * }
 * ```
 */
export const data: TanaData = Object.freeze({
  MAX_KEY_SIZE: 256,
  MAX_VALUE_SIZE: 10240,
  MAX_TOTAL_SIZE: 102400,
  MAX_KEYS,

  async get(key: string): Promise<DataValue | null> {
    const entry = await hostCall("kv.get", { key: checkKey(key, "data.get") });
    return entry === null ? null : _value(entry.value);
  },
  async has(key: string): Promise<boolean> {
    return (await hostCall("kv.get", { key: checkKey(key, "data.has") })) !== null;
  },
  keys: (pattern?: string): Promise<string[]> => _keys(pattern, "data.keys"),
  async entries(): Promise<Record<string, DataValue>> {
    const names = await _keys(undefined, "data.entries");
    const out: Record<string, DataValue> = Object.create(null);
    for (let i = 0; i < names.length; i += PARALLEL_READS) {
      const chunk = names.slice(i, i + PARALLEL_READS);
      const found = await Promise.all(chunk.map((key) => hostCall("kv.get", { key })));
      found.forEach((entry, j) => {
        if (entry !== null) out[chunk[j]] = _value(entry.value);
      });
    }
    return out;
  },
  set: (_key: string, _value: DataValue): Promise<void> =>
    Promise.reject(new ReadOnlyError(READ_ONLY)),
  delete: (_key: string): Promise<void> => Promise.reject(new ReadOnlyError(READ_ONLY)),
  clear: (): Promise<void> => Promise.reject(new ReadOnlyError(READ_ONLY)),
  commit: (): Promise<void> => Promise.reject(new ReadOnlyError(READ_ONLY)),
});

function _value(text: string): DataValue {
  const first = text.trimStart()[0];
  if (first !== "{" && first !== "[") return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function _keys(pattern: unknown, where: string): Promise<string[]> {
  if (pattern !== undefined && typeof pattern !== "string") {
    throw new TypeError(`${where}: pattern must be a string`);
  }
  const glob = pattern ?? "*";
  const wildcard = glob.search(/[*?]/);
  const prefix = wildcard === -1 ? glob : glob.slice(0, wildcard);
  const matches = _globRegExp(glob);
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await hostCall("kv.list", {
      limit: MAX_KEYS,
      ...(prefix ? { prefix } : {}),
      ...(cursor ? { cursor } : {}),
    });
    for (const { name } of page.keys) {
      if (!matches.test(name)) continue;
      if (names.length === MAX_KEYS) {
        throw new RangeError(
          `${where}: more than ${MAX_KEYS} keys; use kv.list from "tana:kv" to page through them`,
        );
      }
      names.push(name);
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return names;
}

function _globRegExp(glob: string): RegExp {
  const source = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(
    /\?/g,
    ".",
  );
  return new RegExp(`^${source}$`, "s");
}

/** The module as one object: `import data from "tana:data"`. */
export default data;
