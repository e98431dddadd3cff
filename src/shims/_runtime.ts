/**
 * The in-worker runtime shared by every `tana:*` shim and by the worker bootstrap.
 *
 * This module runs inside the contract's Web Worker. It holds the state of the one request the
 * worker serves (the request object, the latest block) and the channel to the host: every shim
 * reaches the server only through {@link hostCall} and {@link log}.
 *
 * @module
 */
import type { HostOp, HostOps } from "../host/ops.ts";
import type { Block } from "../store/types.ts";

/** The request object handed to `get(req)` / `post(req, body)`; see `contract-api.md`. */
export interface TanaRequest {
  /** Full request URL. */
  url: string;
  /** HTTP method, e.g. `"GET"`. */
  method: string;
  /** Path after `/{contractId}`; `/` if none. */
  path: string;
  /** Decoded path segments after the contract id. */
  params: string[];
  /** Query parameters by name. */
  query: Record<string, string>;
  /** Request headers with lower-cased names. */
  headers: Record<string, string>;
  /** Client address. */
  ip: string;
  /** Parsed JSON body for POST; `null` otherwise or when empty. */
  body: unknown;
  /** The contract being run, plus caller and session. */
  tana: {
    contract: { id: string; name: string; owner: string; version: number; codeHash: string };
    caller: unknown | null;
    session: unknown | null;
  };
}

/** Raised by every write attempted from an edge handler. */
export class ReadOnlyError extends Error {
  /**
   * Creates the error.
   *
   * @param message what was refused
   */
  constructor(
    message = "KV is read-only in edge handlers; write through a transaction",
  ) {
    super(message);
    this.name = "ReadOnlyError";
  }
}

/** Marks objects made by `tana:net`'s `Response`, so the worker can tell them from data. */
export const RESPONSE_BRAND: unique symbol = Symbol("tana.response");

/** What a branded `Response` carries. */
export interface BrandedResponse {
  /** Always `true`; marks the object as a `tana:net` response. */
  [RESPONSE_BRAND]: true;
  /** HTTP status code. */
  status: number;
  /** Response headers by name. */
  headers: Record<string, string>;
  /** The body as text (JSON text for `Response.json`). */
  bodyText: string;
}

/** Posts a message to the sandbox (the worker's captured `postMessage`). */
export type Send = (message: unknown) => void;

let send: Send | null = null;
let request: TanaRequest | null = null;
let latest: Block | null = null;
let nextCallId = 1;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

/** Called once by the worker bootstrap with the captured `postMessage`. */
export function _attach(sendToSandbox: Send): void {
  send = sendToSandbox;
}

/** Answers the server read ahead for this run, by call key (see `src/host/readahead.ts`). */
let readAhead: Map<string, unknown> = new Map();
/** Keys of read-ahead answers this run used, reported with its result. */
const readAheadUsed: string[] = [];
// Taken before contract code runs, so a contract that replaces these built-ins cannot change
// which answer its calls get (it could only confuse itself, but answers stay exact anyway).
const _stringify = JSON.stringify;
const _apply = Reflect.apply;
const _mapHas = Map.prototype.has;
const _mapGet = Map.prototype.get;
const _mapDelete = Map.prototype.delete;
const _push = Array.prototype.push;
const _slice = String.prototype.slice;

/** Log lines this run may still send, and the longest (in UTF-16 units) worth sending. */
let logLinesLeft = Infinity;
let logLineChars = Infinity;
/** Log lines not sent because the run used up its lines. */
let logsDropped = 0;

/**
 * Set while the contract's module is evaluated ahead of its request (a primed worker, see
 * `src/sandbox/process.ts`). Anything that needs the request then (a host call, a log line, the
 * request or the block) taints the worker instead: it reports that it cannot serve the request as
 * if the module had been loaded for it, and is never used.
 */
let priming = false;
let onTaint: (() => void) | null = null;

/**
 * Called by the worker bootstrap before it imports a contract ahead of its request.
 *
 * @param taint called once if the module needs a request while it loads
 */
export function _beginPriming(taint: () => void): void {
  request = null;
  latest = null;
  readAhead = new Map();
  priming = true;
  onTaint = taint;
}

/** Whether the worker is priming; if so, it is now tainted. */
function _tainted(): boolean {
  if (!priming) return false;
  const taint = onTaint;
  onTaint = null;
  taint?.();
  return true;
}

/** Called by the worker bootstrap when the run message arrives. */
export function _begin(
  req: TanaRequest,
  block: Block | null,
  answers: Record<string, unknown> = {},
  logLimits: { lines: number; bytes: number } = { lines: Infinity, bytes: Infinity },
): void {
  priming = false;
  onTaint = null;
  request = req;
  latest = block;
  readAhead = new Map(Object.entries(answers));
  readAheadUsed.length = 0;
  logLinesLeft = logLimits.lines;
  // A UTF-16 unit is at least one UTF-8 byte, so this keeps everything the sandbox keeps, plus
  // one unit so that it sees the line was longer and marks the cut.
  logLineChars = logLimits.bytes + 1;
  logsDropped = 0;
}

/** Log lines the run wrote past its limit, reported with its result. */
export function _logsDropped(): number {
  return logsDropped;
}

/** Keys of the read-ahead answers the run used. */
export function _readAheadUsed(): string[] {
  return readAheadUsed;
}

/** Runtime versions as the host knows them; `Deno.version` is out of the worker's reach. */
export interface RuntimeVersions {
  /** Deno version. */
  deno?: string;
  /** V8 version. */
  v8?: string;
  /** TypeScript version. */
  typescript?: string;
}

let runtime: RuntimeVersions = {};

/** Called by the worker bootstrap with the host's `Deno.version`. */
export function _setVersions(versions: RuntimeVersions): void {
  runtime = { deno: versions.deno, v8: versions.v8, typescript: versions.typescript };
}

/** The versions passed by the host; fields the host did not send are absent. */
export function runtimeVersions(): RuntimeVersions {
  return runtime;
}

/** Called by the worker bootstrap when the sandbox answers a host call. */
export function _settle(id: number, ok: boolean, value: unknown): void {
  const call = pending.get(id);
  if (!call) return;
  pending.delete(id);
  if (ok) call.resolve(value);
  else {
    const { name, message } = value as { name?: string; message?: string };
    const error = new Error(message ?? "Host call failed");
    if (name) error.name = name;
    call.reject(error);
  }
}

/** Asks the server to perform a read on behalf of the contract. */
export function hostCall<K extends HostOp>(
  op: K,
  args: HostOps[K]["args"],
): Promise<HostOps[K]["result"]> {
  if (!send) return Promise.reject(new Error("tana runtime is not attached"));
  // A tainted worker never serves a request: the call need not settle.
  if (_tainted()) return new Promise(() => {});
  if (readAhead.size > 0) {
    // Each answer serves one call: a second identical call reads again, as it would have.
    const key = `${op} ${_stringify(args)}`;
    if (_apply(_mapHas, readAhead, [key])) {
      const answer = _apply(_mapGet, readAhead, [key]);
      _apply(_mapDelete, readAhead, [key]);
      _apply(_push, readAheadUsed, [key]);
      return Promise.resolve(answer as HostOps[K]["result"]);
    }
  }
  const id = nextCallId++;
  const { promise, resolve, reject } = Promise.withResolvers<unknown>();
  pending.set(id, { resolve, reject });
  send({ t: "call", cid: id, op, args });
  return promise as Promise<HostOps[K]["result"]>;
}

/** Formats console arguments the way `console.log` would, without host objects. */
export function formatLogArgs(args: unknown[]): string {
  return args.map((a) => {
    if (typeof a === "string") return a;
    if (a instanceof Error) return `${a.name}: ${a.message}`;
    try {
      const json = JSON.stringify(a, (_k, v) => typeof v === "bigint" ? `${v}n` : v);
      return json === undefined ? String(a) : json;
    } catch {
      return String(a);
    }
  }).join(" ");
}

/** Sends one captured `console.*` line to the host, tagged there with contract and request. */
export function log(level: "debug" | "info" | "warn" | "error", args: unknown[]): void {
  // Bounded here, before the copy to the sandbox: a contract logging a 60 MB string in a loop
  // made the sandbox copy and cut every one of them (the sandbox still checks both limits).
  if (_tainted()) return;
  if (logLinesLeft <= 0) {
    logsDropped++;
    return;
  }
  logLinesLeft--;
  const text = formatLogArgs(args);
  const line = typeof text !== "string"
    ? "<unprintable>"
    : text.length > logLineChars
    ? _apply(_slice, text, [0, logLineChars]) as string
    : text;
  send?.({ t: "log", level, text: line });
}

/** The request being served; throws when called outside a request. */
export function currentRequest(): TanaRequest {
  if (_tainted() || !request) throw new Error("No request is being served");
  return request;
}

/** The latest block as of the start of the request, or `null` on an empty chain. */
export function latestBlock(): Block | null {
  return _tainted() ? null : latest;
}

/** Largest KV key, in UTF-8 bytes (the Workers KV limit). The host checks the same limits. */
export const MAX_KEY_BYTES = 512;
/** Default and maximum `limit` of `kv.list`; larger limits are clamped to it. */
export const MAX_LIST_LIMIT = 1000;
/** Most ids (or heights) one block batch query may ask for. */
export const MAX_BATCH_QUERY = 10;

const _keyEncoder = new TextEncoder();

/**
 * Checks a KV key the way every KV-reading shim must: a non-empty string of at most
 * {@link MAX_KEY_BYTES} UTF-8 bytes.
 *
 * @param key what the contract passed
 * @param where the calling function, for the message
 * @returns the key
 */
export function checkKey(key: unknown, where: string): string {
  if (typeof key !== "string" || key === "") {
    throw new TypeError(`${where}: key must be a non-empty string`);
  }
  const bytes = _keyEncoder.encode(key).byteLength;
  if (bytes > MAX_KEY_BYTES) {
    throw new TypeError(`${where}: key is ${bytes} bytes; the limit is ${MAX_KEY_BYTES} bytes`);
  }
  return key;
}

/** Longest error text sent on: a thrown 50 MB string must not become a 50 MB error body. */
const MAX_ERROR_CHARS = 4096;

/**
 * Removes what a client must not see from an error text: stack frames that some runtime errors
 * carry inside their message, module URLs, `file:` URLs and runtime-internal `ext:` locations.
 * The contract's own words are kept. The worker scrubs, and the sandbox scrubs again outside the
 * contract's reach (each with its own copy of this module).
 *
 * @param text an error message
 * @returns the text safe to show a client, at most 4096 characters plus a marker
 */
export function scrubErrorText(text: string): string {
  if (text.length > MAX_ERROR_CHARS) text = text.slice(0, MAX_ERROR_CHARS) + "… (truncated)";
  return text
    .replace(/\n\s*at [^\n]*/g, "")
    .replace(/blob:[^\s)"']+/g, "<module>")
    .replace(/\b(?:file|ext):[^\s)"']*/g, "<internal>");
}
