/**
 * The bootstrap of a contract's Web Worker. Runs before any contract code.
 *
 * A sandbox process spawns this worker ahead of demand. On `init` it loads every shim (so a
 * contract's imports are already in the module map), removes every global a contract must not
 * reach, and reports `ready`. On `run` it imports the contract, calls its handler once, sends
 * the result as bytes, and is then terminated by its sandbox: a worker serves one request.
 *
 * @module
 */
import {
  _attach,
  _begin,
  _settle,
  log,
  RESPONSE_BRAND,
  type TanaRequest,
} from "../shims/_runtime.ts";
import type { BrandedResponse } from "../shims/_runtime.ts";
import type { Block } from "../store/types.ts";

/** `init` from the sandbox: URLs of the shims to preload. */
interface InitMessage {
  t: "init";
  shims: string[];
}

/** `run` from the sandbox: the one request this worker serves. */
interface RunMessage {
  t: "run";
  url: string;
  handler: string;
  request: TanaRequest;
  block: Block | null;
  maxResponseBytes: number;
}

/** `reply` from the sandbox: the answer to a host call. */
interface ReplyMessage {
  t: "reply";
  cid: number;
  ok: boolean;
  value: unknown;
}

type Incoming = InitMessage | RunMessage | ReplyMessage;

const scope = globalThis as unknown as Record<string, unknown>;
const post = (scope.postMessage as (m: unknown, t?: Transferable[]) => void).bind(globalThis);
const listen = (scope.addEventListener as (
  type: string,
  fn: (e: MessageEvent<Incoming>) => void,
) => void).bind(globalThis);

_attach((message) => post(message));

listen("message", (event) => {
  const message = event.data;
  if (message.t === "reply") _settle(message.cid, message.ok, message.value);
  else if (message.t === "init") void _init(message);
  else if (message.t === "run") void _run(message);
});

async function _init(message: InitMessage): Promise<void> {
  await Promise.all(message.shims.map((url) => import(url)));
  _lockDown();
  post({ t: "ready" });
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
];

function _lockDown(): void {
  for (const name of _REMOVED) {
    try {
      delete scope[name];
    } catch {
      // Non-configurable: shadow it instead.
    }
    if (name in scope) {
      Object.defineProperty(scope, name, {
        value: undefined,
        configurable: false,
        writable: false,
      });
    }
  }
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

async function _run(message: RunMessage): Promise<void> {
  _begin(message.request, message.block);
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
    post({ t: "error", code: "contract_error", message: _describe(error, message.url) });
    return;
  }
  try {
    const { status, headers, body } = _serialize(result);
    const bytes = new TextEncoder().encode(body);
    if (bytes.byteLength > message.maxResponseBytes) {
      post({
        t: "error",
        code: "response_too_large",
        message:
          `Response is ${bytes.byteLength} bytes; the limit is ${message.maxResponseBytes} bytes`,
      });
      return;
    }
    post({ t: "result", status, headers, body: bytes.buffer }, [bytes.buffer]);
  } catch (error) {
    post({ t: "error", code: "invalid_response", message: _describe(error, message.url) });
  }
}

function _serialize(
  result: unknown,
): { status: number; headers: Record<string, string>; body: string } {
  if (result !== null && typeof result === "object" && RESPONSE_BRAND in result) {
    const response = result as BrandedResponse;
    return { status: response.status, headers: response.headers, body: response.bodyText };
  }
  if (result === undefined) {
    throw new TypeError("Handler returned undefined, which is not JSON-serialisable");
  }
  const body = JSON.stringify(result, _strictJson);
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
  if (!(error instanceof Error)) return `Uncaught ${_safeString(error)}`;
  let text = `${error.name}: ${error.message}`;
  const stack = typeof error.stack === "string" ? error.stack : "";
  for (const line of stack.split("\n")) {
    const at = line.indexOf(contractUrl);
    if (at === -1) continue;
    const position = /^:(\d+):(\d+)/.exec(line.slice(at + contractUrl.length));
    if (position) text += ` (contract.ts:${position[1]}:${position[2]})`;
    break;
  }
  return text.replace(/blob:[^\s)"']+/g, "<module>");
}

function _safeString(value: unknown): string {
  try {
    return typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
