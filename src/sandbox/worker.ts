/**
 * The bootstrap of a contract's Web Worker. Runs before any contract code.
 *
 * A sandbox process spawns this worker ahead of demand, or for a waiting run. On `init` it may
 * warm up, removes every global a contract must not reach, and loads the shims its sandbox's
 * contracts have used (so their imports are already in the module map). On `run`, which the
 * sandbox may send right behind `init`, it waits for that to finish, imports the contract, calls
 * its handler once, sends the result as bytes, and is then terminated by its sandbox: a worker
 * serves one request. On `prime`, which may come between the two, it imports the contract ahead
 * of the request, and then serves only a request for that contract (see `_prime`).
 *
 * @module
 */
import {
  _attach,
  _begin,
  _beginPriming,
  _logsDropped,
  _readAheadUsed,
  _settle,
  _setVersions,
  hostCall,
  log,
  RESPONSE_BRAND,
  scrubErrorText,
  type TanaRequest,
} from "../shims/_runtime.ts";
import type { BrandedResponse } from "../shims/_runtime.ts";
import type { Block } from "../store/types.ts";

/** `init` from the sandbox: warm up, lock down and preload shims. */
interface InitMessage {
  t: "init";
  /** A trivial module with a `get` handler, run once to warm up the paths a request takes;
   * `null` when the sandbox is too busy for the warm-up to pay. */
  warmUrl: string | null;
  /** A request shaped like a real one, so its first deserialisation is not on a request's path. */
  warmRequest?: TanaRequest;
  /** URLs of the shims to load ahead of the request (those contracts in this sandbox used). */
  preload: string[];
  /** Globals to remove besides {@link _REMOVED}: WebGPU's, as the sandbox found them. */
  remove: string[];
}

/** `prime` from the sandbox: import this contract now, ahead of its request (see `_prime`). */
interface PrimeMessage {
  t: "prime";
  url: string;
}

/** `run` from the sandbox: the one request this worker serves. */
interface RunMessage {
  t: "run";
  url: string;
  handler: string;
  request: TanaRequest;
  block: Block | null;
  readAhead: Record<string, unknown>;
  maxResponseBytes: number;
  /** `MAX_LOG_LINES` and `MAX_LOG_LINE_BYTES`, applied before a line leaves the worker. */
  logLimits?: { lines: number; bytes: number };
}

/** `reply` from the sandbox: the answer to a host call. */
interface ReplyMessage {
  t: "reply";
  cid: number;
  ok: boolean;
  value: unknown;
}

type Incoming = InitMessage | PrimeMessage | RunMessage | ReplyMessage;

const scope = globalThis as unknown as Record<string, unknown>;
const post = (scope.postMessage as (m: unknown, t?: Transferable[]) => void).bind(globalThis);
const listen = (scope.addEventListener as (
  type: string,
  fn: (e: MessageEvent<Incoming>) => void,
) => void).bind(globalThis);

// Built-ins the bootstrap needs after contract code has run, taken before it can replace them
// (a contract that overrides `JSON.stringify` would otherwise rewrite its own result). This is
// for correctness only: the sandbox process re-checks every limit outside this realm.
const _stringify = JSON.stringify;
const _encoder = new TextEncoder();
const _isInteger = Number.isInteger;
const _entries = Object.entries;

_attach((message) => post(message));

/** Settles once `init` (and `prime`, if sent) is done: lockdown comes before any contract code. */
let initialised: Promise<void> | null = null;
let primed = false;
let started = false;
listen("message", (event) => {
  // Contract code can reach `dispatchEvent` (it lives on EventTarget.prototype) and forge a
  // `MessageEvent`: a forged `run`/`init` would make this bootstrap import any URL (a `data:`
  // module, `npm:`, `http:`), bypassing the compile-time ban on dynamic import(). Only the
  // sandbox's own messages are trusted events, and `init` and `run` are accepted once each, in
  // that order.
  if (!event.isTrusted) return;
  const message = event.data;
  if (message.t === "reply") _settle(message.cid, message.ok, message.value);
  else if (message.t === "init" && !initialised) initialised = _init(message);
  else if (message.t === "prime" && initialised && !primed && !started) {
    primed = true;
    const url = message.url;
    initialised = initialised.then(() => _prime(url));
  } else if (message.t === "run" && initialised && !started) {
    started = true;
    // A tainted worker has told its sandbox, which gives the run to another worker.
    void initialised.then(() => {
      if (!tainted) void _run(message);
    });
  }
});

async function _init(message: InitMessage): Promise<void> {
  // Only shims some contract here has imported are preloaded, and only with a warm-up (when the
  // worker will wait for a request anyway): loading all eight would cost every worker memory and
  // CPU for shims most contracts never use. `Deno.version` must be taken before lockdown.
  const { deno, v8, typescript } = Deno.version;
  _setVersions({ deno, v8, typescript });
  if (message.warmUrl && message.warmRequest) {
    await _warmUp(message.warmUrl, message.warmRequest);
  }
  _lockDown(message.remove);
  // Loaded after lockdown, as a contract's own import would load them.
  try {
    await Promise.all(message.preload.map((url) => import(url)));
  } catch {
    // Only a cost: the contract loads them itself.
  }
}

/** Set once the primed contract needed a request while it loaded: this worker serves none. */
let tainted = false;

/**
 * Imports the contract ahead of its request, so that the request does not wait for it (0.5–0.7
 * ms of a light-load request on the benchmark machine), and tells the sandbox `primed`. Module
 * state is still the worker's own: the worker serves one request, for this contract only. The
 * module must not need a request while it loads (a host call, a log line, the request or the
 * block at top level): if it does, it would see none, so the worker reports `unprimed` and is
 * never used, and the sandbox stops priming that contract. The same holds if the import fails.
 */
async function _prime(url: string): Promise<void> {
  const taint = () => {
    if (tainted) return;
    tainted = true;
    post({ t: "unprimed" });
  };
  _beginPriming(taint);
  try {
    await import(url);
  } catch {
    taint();
    return;
  }
  // A turn later, so that what the module started with no delay has run, and tainted it if so.
  setTimeout(() => {
    if (!tainted) post({ t: "primed" });
  }, 0);
}

/** The call the warm-up answers from a read-ahead, keyed as `hostCall` keys it. */
const WARM_CALL = `kv.get ${JSON.stringify({ key: "warm-up" })}`;

/**
 * Runs a trivial handler the way a request runs, through `_run` itself (dynamic import,
 * serialisation, encoding, a transferred message), after a host call answered from a read-ahead,
 * the path a contract's first call takes. A fresh isolate compiles each internal path the first
 * time it is taken, and each function on its first call (`_run` alone: 0.3 ms); doing it here
 * moves that cost off the request's path (≈ 1.5–2 ms in all, measured at light load). The
 * contract is not known yet, so the worker stays fresh.
 */
async function _warmUp(url: string, request: TanaRequest): Promise<void> {
  try {
    _begin(request, null, { [WARM_CALL]: null });
    await hostCall("kv.get", { key: "warm-up" });
    const warm = { url, handler: "get", request, block: null, readAhead: {} };
    await _run({ t: "run", ...warm, maxResponseBytes: Infinity }, "warm");
  } catch {
    // Only a cost: the request pays it instead.
  }
}

/** Globals that would let a contract reach the host, other workers or other threads. */
const _REMOVED = [
  "Deno",
  "Worker",
  "SharedWorker",
  "BroadcastChannel",
  "WebSocket",
  "WebSocketStream",
  "EventSource",
  "caches",
  "close",
  "postMessage",
  "onmessage",
  "onmessageerror",
  // Node compatibility globals: their lazy getters reach Node internals (and, once `Deno` is
  // gone, throw errors carrying internal stack frames). Contracts import nothing from Node.
  "process",
  "Buffer",
  "global",
  "setImmediate",
  "clearImmediate",
];

/** Most iterations one PBKDF2 derivation may use (OWASP suggests 600 000 for SHA-256). */
const MAX_PBKDF2_ITERATIONS = 1_000_000;
/** Largest RSA modulus a contract may generate: bigger keys take minutes of CPU. */
const MAX_RSA_MODULUS_BITS = 4096;

/** Removes a property, or shadows it with `undefined` when it cannot be deleted. */
function _remove(target: Record<string, unknown>, name: string): void {
  try {
    delete target[name];
  } catch {
    // Non-configurable: shadow it instead.
  }
  if (name in target) {
    Object.defineProperty(target, name, { value: undefined, configurable: false, writable: false });
  }
}

/**
 * Removes what a contract must not reach.
 *
 * @param gpu WebGPU's globals: it reaches a (software or real) GPU driver from a permissionless
 *   worker, a large native attack surface that no contract needs
 */
function _lockDown(gpu: string[]): void {
  for (const name of _REMOVED) _remove(scope, name);
  for (const name of gpu) _remove(scope, name);
  const navigatorProto = (scope.WorkerNavigator as { prototype?: Record<string, unknown> })
    ?.prototype;
  if (navigatorProto) {
    _remove(navigatorProto, "gpu");
    // The Web Locks manager is shared by every worker of the process: a contract saw another
    // contract's lock names (`navigator.locks.query()`) and could hold locks it wanted.
    _remove(navigatorProto, "locks");
  }
  // A blob URL lives in the process-wide blob store until revoked, past the worker's end: it
  // would keep memory the heap limit does not count, and outlive the request.
  for (const name of ["createObjectURL", "revokeObjectURL"]) {
    Object.defineProperty(URL, name, { value: undefined, configurable: false, writable: false });
  }
  _boundSubtleCryptoOnFirstUse();
  scope.fetch = () =>
    Promise.reject(new TypeError('Global fetch is not available: use fetch from "tana:utils"'));
  scope.console = Object.freeze({
    log: (...args: unknown[]) => log("info", args),
    info: (...args: unknown[]) => log("info", args),
    debug: (...args: unknown[]) => log("debug", args),
    warn: (...args: unknown[]) => log("warn", args),
    error: (...args: unknown[]) => log("error", args),
    trace: (...args: unknown[]) => log("debug", args),
  });
}

/**
 * Web Crypto runs its work on a thread pool outside this worker: terminating the worker does
 * not stop it. Eight `deriveBits` calls with 2^31 PBKDF2 iterations kept both cores busy long
 * after their request had ended. So calls run one at a time (a terminated worker starts no
 * more), and the parameters that make one call arbitrarily long are capped.
 *
 * Wrapping the methods cost every worker ≈ 0.3 ms of CPU, about 3 % of its whole life
 * (bench/README.md), and few contracts use Web Crypto: so it happens on first use. Its methods
 * are reachable only from `crypto.subtle` (the getter on `Crypto.prototype`) and from the
 * `SubtleCrypto` global, and both become getters that wrap them before handing them out.
 */
function _boundSubtleCryptoOnFirstUse(): void {
  const SubtleCrypto = scope.SubtleCrypto as { prototype: Record<string, unknown> } | undefined;
  if (!SubtleCrypto) return;
  const cryptoProto = (scope.Crypto as { prototype?: object } | undefined)?.prototype;
  const subtle = cryptoProto && Object.getOwnPropertyDescriptor(cryptoProto, "subtle")?.get;
  if (!cryptoProto || !subtle) return _boundSubtleCrypto(SubtleCrypto.prototype);
  let bounded = false;
  const bound = () => {
    if (bounded) return;
    bounded = true;
    _boundSubtleCrypto(SubtleCrypto.prototype);
  };
  Object.defineProperty(cryptoProto, "subtle", {
    get() {
      bound();
      return subtle.call(this);
    },
    enumerable: true,
    configurable: false,
  });
  Object.defineProperty(scope, "SubtleCrypto", {
    get() {
      bound();
      return SubtleCrypto;
    },
    enumerable: false,
    configurable: false,
  });
}

function _boundSubtleCrypto(proto: Record<string, unknown>): void {
  let tail: Promise<unknown> = Promise.resolve();
  for (const name of Object.getOwnPropertyNames(proto)) {
    const original = Object.getOwnPropertyDescriptor(proto, name)?.value;
    if (name === "constructor" || typeof original !== "function") continue;
    const bounded = function (this: unknown, ...args: unknown[]): Promise<unknown> {
      const result = tail.then(() => {
        // Checked on a copy, so a getter cannot show one value here and another to Web Crypto.
        const call = [_snapshot(args[0]), ...args.slice(1)];
        _checkCryptoParams(call[0]);
        return (original as (...a: unknown[]) => Promise<unknown>).apply(this, call);
      });
      tail = result.catch(() => {});
      return result;
    };
    Object.defineProperty(proto, name, {
      value: bounded,
      writable: false,
      configurable: false,
      enumerable: true,
    });
  }
}

function _snapshot(value: unknown): unknown {
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return value;
  if (value instanceof ArrayBuffer || value instanceof CryptoKey) return value;
  const copy: Record<string, unknown> = {};
  for (const key in value) copy[key] = (value as Record<string, unknown>)[key];
  return copy;
}

function _checkCryptoParams(algorithm: unknown): void {
  if (algorithm === null || typeof algorithm !== "object") return;
  const { iterations, modulusLength } = algorithm as Record<string, unknown>;
  if (typeof iterations === "number" && iterations > MAX_PBKDF2_ITERATIONS) {
    throw new DOMException(
      `PBKDF2 iterations are limited to ${MAX_PBKDF2_ITERATIONS} in edge handlers`,
      "NotSupportedError",
    );
  }
  if (typeof modulusLength === "number" && modulusLength > MAX_RSA_MODULUS_BITS) {
    throw new DOMException(
      `RSA keys are limited to ${MAX_RSA_MODULUS_BITS} bits in edge handlers`,
      "NotSupportedError",
    );
  }
}

/**
 * Runs the handler once and posts its result (`kind` "warm" for the warm-up, which the sandbox
 * drops) or the error. A warm-up posts no error: the run that may already be waiting for this
 * worker would take it for its own.
 */
async function _run(message: RunMessage, kind: "result" | "warm" = "result"): Promise<void> {
  const fail = (error: Record<string, unknown>) => {
    if (kind === "result") post({ t: "error", logsDropped: _logsDropped(), ...error });
  };
  _begin(message.request, message.block, message.readAhead, message.logLimits);
  let result: unknown;
  try {
    const mod = await import(message.url);
    const handler = mod[message.handler];
    if (typeof handler !== "function") {
      throw new TypeError(`Export "${message.handler}" is not a function`);
    }
    result = message.request.method === "POST"
      ? await handler(message.request, message.request.body)
      : await handler(message.request);
  } catch (error) {
    fail({ code: "contract_error", message: _describe(error, message.url) });
    return;
  }
  try {
    const { status, headers, body } = _serialize(result);
    const bytes = _encoder.encode(body);
    if (bytes.byteLength > message.maxResponseBytes) {
      fail({
        code: "response_too_large",
        message:
          `Response is ${bytes.byteLength} bytes; the limit is ${message.maxResponseBytes} bytes`,
      });
      return;
    }
    post({
      t: kind,
      status,
      headers,
      body: bytes.buffer,
      used: _readAheadUsed(),
      logsDropped: _logsDropped(),
    }, [bytes.buffer]);
  } catch (error) {
    fail({ code: "invalid_response", message: _describe(error, message.url) });
  }
}

function _serialize(
  result: unknown,
): { status: number; headers: Record<string, string>; body: string } {
  if (result !== null && typeof result === "object" && RESPONSE_BRAND in result) {
    // The brand symbol is reachable (Object.getOwnPropertySymbols of a real Response), so a
    // branded object may be forged: check it as strictly as tana:net's Response does.
    const { status, headers, bodyText } = result as BrandedResponse;
    if (typeof status !== "number" || !_isInteger(status) || status < 200 || status > 599) {
      throw new TypeError(`Response status must be an integer from 200 to 599`);
    }
    if (typeof bodyText !== "string") throw new TypeError("Response body must be text");
    const copy: Record<string, string> = {};
    for (const [name, value] of _entries(headers ?? {})) {
      if (typeof value !== "string") throw new TypeError(`Response header "${name}" is not text`);
      copy[name] = value;
    }
    return { status, headers: copy, body: bodyText };
  }
  if (result === undefined) {
    throw new TypeError("Handler returned undefined, which is not JSON-serialisable");
  }
  const body = _stringify(result, _strictJson);
  return { status: 200, headers: { "content-type": "application/json" }, body };
}

function _strictJson(key: string, value: unknown): unknown {
  const type = typeof value;
  if (type === "function" || type === "symbol") {
    const where = key === "" ? "Handler returned" : `Property "${key}" is`;
    throw new TypeError(`${where} a ${type}, which is not JSON-serialisable`);
  }
  return value;
}

/** Message and contract-relative location of a thrown value; never a host path. */
function _describe(error: unknown, contractUrl: string): string {
  if (!(error instanceof Error)) return scrubErrorText(`Uncaught ${_safeString(error)}`);
  let text = `${error.name}: ${error.message}`;
  const stack = typeof error.stack === "string" ? error.stack : "";
  for (const line of stack.split("\n")) {
    const at = line.indexOf(contractUrl);
    if (at === -1) continue;
    const position = /^:(\d+):(\d+)/.exec(line.slice(at + contractUrl.length));
    if (position) text += ` (contract.ts:${position[1]}:${position[2]})`;
    break;
  }
  return scrubErrorText(text);
}

function _safeString(value: unknown): string {
  try {
    return typeof value === "string" ? value : _stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
