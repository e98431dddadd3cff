/**
 * The sandbox process: the only place contract code runs.
 *
 * Started by the server with no permissions at all, `--cached-only`, code generation from
 * strings disabled and a bounded heap. It talks to the server over framed stdin/stdout
 * (`protocol.ts`), keeps a pool of pre-spawned workers, and gives each request a fresh one that
 * is terminated as soon as the request ends. Its own main thread runs no contract code, so a
 * contract can stall or crash only its worker, or (by exhausting the heap) this process.
 *
 * @module
 */
import { encodeFrame, readFrames } from "./protocol.ts";
import { linkModule } from "./link.ts";
import { refillDelay } from "./refill.ts";
import { scrubErrorText, type TanaRequest } from "../shims/_runtime.ts";
import {
  CONTRACTS_KEPT,
  type FailureCode,
  type FromSandbox,
  type SandboxLimits,
  type ToSandbox,
} from "./messages.ts";

/** Result bytes are written to the server in frames of at most this size. */
const CHUNK_BYTES = 64 * 1024;
/** Most read-ahead keys a run may report as used (the server ships far fewer). */
const MAX_READ_AHEAD_USED = 1024;
const STATS_INTERVAL_MS = 1000;
/**
 * Hard ceiling on this process's resident size, unless the server sends `limits.maxRssBytes`.
 * The V8 heap limit does not count ArrayBuffer, Blob or WebAssembly memory: with a 64 MB heap a
 * contract held 1.5 GB of filled ArrayBuffers, and could fill several GB per second until the
 * machine ran out. Above the ceiling this process exits as if out of memory (see `_watchRss`).
 */
const DEFAULT_MAX_RSS_BYTES = 1536 * 1024 * 1024;
/** How often the resident size is checked: a contract fills a few hundred MB in this time. */
const RSS_CHECK_MS = 20;

/**
 * WebGPU's globals, found once here rather than in every worker: enumerating a worker's global
 * scope cost ≈ 3 M instructions (≈ 4 % of a whole worker start, measured with callgrind), and a
 * worker has the same `GPU*` globals as this thread. The hostile suite checks that none is left.
 */
const GPU_GLOBALS = Object.getOwnPropertyNames(globalThis).filter((name) => name.startsWith("GPU"));

/** Run by a new pool worker before its request, unless the pool ran dry (`_warmUp`). */
const WARM_MODULE = "export function get(req) { return { ok: true, path: req.path }; }";
/** A request shaped like the ones the server sends, for the warm-up. */
const WARM_REQUEST: TanaRequest = {
  url: "http://localhost/warm-up",
  method: "GET",
  path: "/",
  params: [],
  query: {},
  headers: { accept: "*/*" },
  ip: "127.0.0.1",
  body: null,
  tana: {
    contract: { id: "warm-up", name: "warm-up", owner: "", version: 1, codeHash: "" },
    caller: null,
    session: null,
  },
};

interface Run {
  rid: number;
  /** The contract's code hash, blob URL and id. */
  hash: string;
  url: string;
  contractId: string;
  /** What was posted to the worker, to post again if a primed worker turns out tainted. */
  message: Record<string, unknown> | null;
  /** Whether a primed worker serves it. */
  primed: boolean;
  worker: Worker | null;
  /** The worker's id (its thread is named `worker-<id>`), reported with the run's last frame. */
  wid: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  calls: number;
  logs: number;
  dropped: number;
  /** `performance.now()` when it arrived. */
  startedAt: number;
}

/** Drops whatever permission a compiled binary was built with; under `deno run` there are none. */
function _revokeAll(): void {
  const names = ["read", "write", "net", "env", "run", "ffi", "sys", "import"] as const;
  for (const name of names) {
    try {
      Deno.permissions.revokeSync({ name } as Deno.PermissionDescriptor);
    } catch {
      // Unknown permission name in this Deno: nothing to revoke.
    }
  }
}

const writer = Deno.stdout.writable.getWriter();
function send(message: FromSandbox, payload?: Uint8Array): void {
  writer.write(encodeFrame(message, payload)).catch(() => Deno.exit(1));
}

let limits: SandboxLimits;
let bootstrapUrl = "";
let warmUrl = "";
/** Shims that contracts run here have imported: warm workers load them ahead of a request. */
const usedShims = new Set<string>();
let moduleUrls: Record<string, string> = {};
let poolSize = 0;
/** Whether to keep the pool filled; off while requests keep every core busy (`spawn_ahead.ts`). */
let spawnAhead = true;
let spawned = 0;
let draining = false;
const pool: Worker[] = [];
const runs = new Map<number, Run>();
/**
 * Each worker's id: the count of workers this process had started when it was created, which is
 * also the id Deno gives it and the name of its thread (`worker-<id>`). The server looks for the
 * threads of workers that ran contract code after they were terminated (see `stuck.ts`).
 */
const workerIds = new WeakMap<Worker, number>();

/** A worker that imports (or has imported) one contract ahead of its next request. */
interface Primed {
  worker: Worker;
  hash: string;
  contractId: string;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Priming: when the contract served last here succeeded in two runs in a row (the same rule as
 * read-ahead) and the sandbox is idle with its pool full, the longest-waiting warm worker imports
 * that contract and takes the next request for its code. It is still one of the pool's workers.
 * Contracts whose module needs a request while it loads are never primed again by this process
 * ({@link unprimable}, bounded).
 */
let primed: Primed | null = null;
/** The contract of this sandbox's last successful run, and how many in a row succeeded. */
let hot = { hash: "", url: "", contractId: "", streak: 0 };
const unprimable = new Set<string>();
const UNPRIMABLE_MAX = 1024;
const contractUrls = new Map<string, string>();

/**
 * Starts a worker for the pool, or for a run that found the pool empty.
 *
 * @param forPool whether the worker will wait in the pool (only then can a warm-up pay)
 */
function _spawn(forPool: boolean): Worker {
  const worker = new Worker(bootstrapUrl, {
    type: "module",
    name: "contract",
    deno: { permissions: "none" },
  } as WorkerOptions);
  spawned++;
  workerIds.set(worker, spawned);
  // An error in a warm worker must never reach this thread's global handler.
  worker.onerror = (event) => event.preventDefault();
  // Warming up costs 1–5 ms of CPU and saves 1.5–2.6 ms of latency (measured on a fast and on a
  // slow machine): worth it only while the worker will wait for a request anyway. It will when
  // another warm worker is ahead of it in the pool (or the pool is being filled at start-up); when
  // the pool has run dry, requests arrive faster than workers are spawned, the next one takes
  // this worker at once, and the CPU is better spent spawning.
  const warmUp = forPool && (pool.length > 0 || spawned <= poolSize);
  // Without a warm-up the message stays small: the worker clones it on its first turn.
  worker.postMessage(
    warmUp
      ? {
        t: "init",
        warmUrl,
        warmRequest: WARM_REQUEST,
        preload: [...usedShims].map((name) => moduleUrls[name]),
        remove: GPU_GLOBALS,
      }
      : { t: "init", warmUrl: null, preload: [], remove: GPU_GLOBALS },
  );
  return worker;
}

let refillScheduled = false;
let refillTimer: ReturnType<typeof setTimeout> | undefined;

/**
 * Tops the warm pool up by one worker per event-loop turn. `new Worker()` blocks this thread for
 * 7–27 ms, and results or host-call replies that arrive meanwhile wait: spawning the whole
 * shortfall in one go made them wait for all of it. For the same reason a refill waits for runs
 * that have just started (`refill.ts`).
 */
function _refill(): void {
  if (refillScheduled || draining || !spawnAhead || !_refillNeeded()) return;
  refillScheduled = true;
  refillTimer = setTimeout(_refillOne, _refillDelay());
}

function _refillOne(): void {
  refillScheduled = false;
  if (draining || !spawnAhead) return;
  const wait = _refillDelay();
  if (wait > 0) {
    refillScheduled = true;
    refillTimer = setTimeout(_refillOne, wait);
    return;
  }
  // Priming takes no spawn: once the pool is full, a warm worker imports the contract.
  if (!primed && _canPrime()) _startPriming();
  else if (pool.length + (primed ? 1 : 0) < poolSize) pool.push(_spawn(true));
  else return;
  _refill();
}

function _refillDelay(): number {
  const starts = Array.from(runs.values(), (run) => run.startedAt);
  return refillDelay(pool.length + (primed ? 1 : 0), starts, performance.now());
}

function _refillNeeded(): boolean {
  return pool.length + (primed ? 1 : 0) < poolSize || (!primed && _canPrime());
}

/**
 * Whether the contract served last is worth priming a warm worker for. Only while this sandbox
 * is idle with its pool full: priming pays at light load, and when it also ran between runs that
 * followed each other, a closed loop from idle measured 10–15 % fewer requests in its first second
 * (within reach of the noise: the same build twice differed by 7 %).
 */
function _canPrime(): boolean {
  return poolSize >= 2 && pool.length >= poolSize && runs.size === 0 && hot.streak >= 2 &&
    !unprimable.has(hot.hash) && contractUrls.get(hot.hash) === hot.url;
}

/**
 * Primes the warm worker that has waited longest: it is settled, and no spawn is added (spawning
 * a worker to prime made requests at 38 req/s slower: p90 6.9–9.7 ms against 5.2–6.7, paired).
 */
function _startPriming(): void {
  const worker = pool.shift()!;
  worker.postMessage({ t: "prime", url: hot.url });
  const entry: Primed = {
    worker,
    hash: hot.hash,
    contractId: hot.contractId,
    // A module that neither loads nor fails within a run's time limit (a loop, an await that
    // never settles) would hold the worker forever.
    timer: setTimeout(() => _unprime(entry), limits.timeoutMs),
  };
  worker.onmessage = (event) => {
    // `primed`: the module loaded without needing a request.
    if (event.data?.t === "primed") clearTimeout(entry.timer);
    else if (event.data?.t === "unprimed") _unprime(entry);
  };
  primed = entry;
  // The server blames this contract too if the process dies while its module is loaded here.
  send({ t: "primed", contractId: entry.contractId });
}

/** Gives up a primed worker that cannot serve its contract, and stops priming that contract. */
function _unprime(entry: Primed): void {
  if (unprimable.size >= UNPRIMABLE_MAX) unprimable.clear();
  unprimable.add(entry.hash);
  _retirePrimed(entry);
}

/** Terminates a primed worker not (or no longer) worth keeping; the pool refills. */
function _retirePrimed(entry: Primed): void {
  if (primed !== entry) return;
  clearTimeout(entry.timer);
  _terminate(entry.worker, entry.contractId);
  primed = null;
  send({ t: "primed", contractId: null });
  _refill();
}

/** Terminates a worker that has run `contractId`'s code outside a run's last frame. */
function _terminate(worker: Worker, contractId: string): void {
  worker.terminate();
  _reportEnded(worker, contractId);
}

/** Tells the server a worker that ran `contractId`'s code is (being) terminated (`stuck.ts`). */
function _reportEnded(worker: Worker, contractId: string): void {
  send({ t: "ended", w: workerIds.get(worker) ?? 0, contractId });
}

/** Takes the primed worker for a run of `hash`, if there is one. */
function _takePrimed(hash: string): Worker | null {
  if (!primed || primed.hash !== hash) return null;
  // Also while its import is still running: the run waits for it in the worker, which is sooner
  // than a plain worker's own import, and a worker that turns out tainted declines the run and
  // says `unprimed`, so that a plain worker runs it (`_onWorkerMessage`).
  const { worker, timer } = primed;
  clearTimeout(timer);
  // No frame here, on the request's path: the run's head frame tells the server (`primed`).
  primed = null;
  return worker;
}

/** Notes a successful run: its contract may be worth priming, and a stale primed worker not. */
function _succeeded(run: Run): void {
  if (run.hash === hot.hash) hot.streak++;
  else hot = { hash: run.hash, url: run.url, contractId: run.contractId, streak: 1 };
  // A worker primed for a contract that is no longer the one requested here gives way.
  if (primed && primed.hash !== hot.hash && hot.streak >= 2) _retirePrimed(primed);
}

/** The blob URL of a contract's linked module, made from the run's code the first time. */
function _contractUrl(message: ToSandbox & { t: "run" }): string {
  const { hash, code = "", links = [] } = message;
  let url = contractUrls.get(hash);
  if (url) {
    contractUrls.delete(hash);
    contractUrls.set(hash, url); // most recently used last
    return url;
  }
  for (const link of links) usedShims.add(link.target);
  url = URL.createObjectURL(
    new Blob([linkModule(code, links, moduleUrls)], { type: "text/javascript" }),
  );
  contractUrls.set(hash, url);
  if (contractUrls.size > CONTRACTS_KEPT) {
    const [oldHash, oldUrl] = contractUrls.entries().next().value!;
    contractUrls.delete(oldHash);
    // A run may still be importing it: revoke only after any such run has timed out.
    setTimeout(() => URL.revokeObjectURL(oldUrl), limits.timeoutMs + 1000);
  }
  return url;
}

function _finish(run: Run): void {
  if (!runs.delete(run.rid)) return;
  clearTimeout(run.timer);
  // After this turn, once the result frames are handed to the pipe: terminating a worker takes
  // this thread 0.1–0.3 ms (measured at light load), which the response need not wait for.
  const worker = run.worker;
  if (worker) setTimeout(() => worker.terminate(), 0);
  if (draining && runs.size === 0) void _exit();
  // `new Worker()` blocks this thread for several milliseconds: refill the warm pool only after
  // this run's frames are written, never between a result and its delivery. A refill that waited
  // for this run is due again now.
  if (refillScheduled) {
    clearTimeout(refillTimer);
    refillScheduled = false;
  }
  _refill();
}

const utf8 = new TextEncoder();

/** Cuts `text` to at most `maxBytes` of UTF-8, on a character boundary, marking the cut. */
function _truncateUtf8(text: string, maxBytes: number): string {
  // Cheap exit: a UTF-16 unit is at most 3 UTF-8 bytes.
  if (text.length * 3 <= maxBytes) return text;
  // Cut to at most `maxBytes` units before encoding, so a huge line costs no more than a long one.
  const cut = text.length > maxBytes;
  if (cut) text = text.slice(0, maxBytes);
  const bytes = utf8.encode(text);
  if (bytes.byteLength <= maxBytes) return cut ? text + "… (truncated)" : text;
  let end = maxBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // back off a continuation byte
  return new TextDecoder().decode(bytes.subarray(0, end)) + "… (truncated)";
}

/** The worker's count of log lines it did not send; anything but a plain count is ignored. */
function _droppedCount(value: unknown): number {
  return Number.isSafeInteger(value) && (value as number) > 0 ? value as number : 0;
}

/** Reports dropped log lines; must precede the run's last frame, after which logs are ignored. */
function _reportDropped(run: Run): void {
  if (run.dropped === 0) return;
  send({
    t: "log",
    rid: run.rid,
    level: "warn",
    text: `${run.dropped} more log lines dropped (limit ${limits.maxLogLines} per request)`,
  });
  run.dropped = 0;
}

function _fail(run: Run, code: FailureCode, message: string): void {
  if (!runs.has(run.rid)) return;
  if (run.hash === hot.hash) hot.streak = 0; // "two runs in a row" that succeeded
  _reportDropped(run);
  send({ t: "fail", rid: run.rid, code, message, w: run.wid, primed: run.primed });
  _finish(run);
}

/** Failure codes a worker may report; anything else from it is an invalid response. */
const WORKER_CODES = new Set<FailureCode>([
  "contract_error",
  "invalid_response",
  "response_too_large",
]);

/**
 * Checks a worker's result. The worker shares its realm with the contract, which can replace
 * any built-in the bootstrap uses after it starts (`JSON.stringify`, a typed array's
 * `byteLength` getter, `Number.isInteger`…), so every limit is enforced again here, on this
 * thread, where contract code never runs.
 *
 * @returns why the result is refused, or `null`
 */
function _checkResult(data: Record<string, unknown>): [FailureCode, string] | null {
  if (!(data.body instanceof ArrayBuffer)) return ["invalid_response", "Response body is invalid"];
  if (data.body.byteLength > limits.maxResponseBytes) {
    return [
      "response_too_large",
      `Response is ${data.body.byteLength} bytes; the limit is ${limits.maxResponseBytes} bytes`,
    ];
  }
  const status = data.status;
  if (typeof status !== "number" || !Number.isInteger(status) || status < 200 || status > 599) {
    return ["invalid_response", "Response status must be an integer from 200 to 599"];
  }
  const headers = data.headers;
  if (headers === null || typeof headers !== "object" || Array.isArray(headers)) {
    return ["invalid_response", "Response headers are invalid"];
  }
  for (const value of Object.values(headers)) {
    if (typeof value !== "string") return ["invalid_response", "Response headers are invalid"];
  }
  const used = data.used;
  if (!Array.isArray(used) || used.length > MAX_READ_AHEAD_USED) {
    return ["invalid_response", "Read-ahead report is invalid"];
  }
  for (const key of used) {
    if (typeof key !== "string") return ["invalid_response", "Read-ahead report is invalid"];
  }
  return null;
}

/** Sends a result's head frame, or fails the run when its headers cannot travel in one. */
function _sendHead(run: Run, head: FromSandbox, bytes?: Uint8Array): boolean {
  try {
    send(head, bytes);
    return true;
  } catch {
    _fail(run, "invalid_response", "Response headers are too large");
    return false;
  }
}

function _onWorkerMessage(run: Run, data: Record<string, unknown>): void {
  if (!runs.has(run.rid)) return;
  switch (data.t) {
    case "unprimed": {
      // The primed module needed a request (or did not load), and the worker declined the run
      // before running anything for it: a plain worker runs it instead.
      if (!run.primed || run.calls > 0 || run.logs > 0) return;
      if (unprimable.size >= UNPRIMABLE_MAX) unprimable.clear();
      unprimable.add(run.hash);
      if (run.worker) _terminate(run.worker, run.contractId);
      run.primed = false;
      _start(run, null);
      return;
    }
    case "call": {
      if (++run.calls > limits.maxHostCalls) {
        _fail(
          run,
          "limit_exceeded",
          `Host call limit exceeded: ${limits.maxHostCalls} per request`,
        );
        return;
      }
      try {
        send({
          t: "call",
          rid: run.rid,
          cid: data.cid as number,
          op: String(data.op),
          args: data.args,
        });
      } catch (error) {
        // A structured clone carries what JSON cannot (a BigInt, a cycle) and can outgrow a
        // frame: the call fails in the contract, as a bad argument would, and nothing else does.
        const value = error instanceof RangeError
          ? { name: "RangeError", message: "Host call arguments are too large for the host" }
          : { name: "TypeError", message: "Host call arguments are not plain JSON values" };
        run.worker?.postMessage({ t: "reply", cid: data.cid, ok: false, value });
      }
      return;
    }
    case "log": {
      if (!["debug", "info", "warn", "error"].includes(data.level as string)) data.level = "info";
      if (run.logs >= limits.maxLogLines) {
        run.dropped++;
        return;
      }
      run.logs++;
      const text = _truncateUtf8(String(data.text), limits.maxLogLineBytes);
      const level = data.level as "debug" | "info" | "warn" | "error";
      send({ t: "log", rid: run.rid, level, text });
      return;
    }
    case "result": {
      run.dropped += _droppedCount(data.logsDropped);
      const refused = _checkResult(data);
      if (refused) {
        _fail(run, refused[0], refused[1]);
        return;
      }
      _reportDropped(run);
      const bytes = new Uint8Array(data.body as ArrayBuffer);
      const headers = data.headers as Record<string, string>;
      const status = data.status as number;
      const used = data.used as string[];
      const head = {
        t: "head",
        rid: run.rid,
        status,
        headers,
        used,
        primed: run.primed,
        w: run.wid,
      } as const;
      if (bytes.byteLength <= CHUNK_BYTES) {
        // The common case: one frame carries status, headers and the whole body.
        if (!_sendHead(run, { ...head, end: true }, bytes)) return;
      } else {
        if (!_sendHead(run, head)) return;
        for (let at = 0; at < bytes.byteLength; at += CHUNK_BYTES) {
          send({ t: "chunk", rid: run.rid }, bytes.subarray(at, at + CHUNK_BYTES));
        }
        send({ t: "end", rid: run.rid });
      }
      _succeeded(run);
      _finish(run);
      return;
    }
    case "error": {
      run.dropped += _droppedCount(data.logsDropped);
      const code = data.code as FailureCode;
      const message = typeof data.message === "string" ? data.message : "Contract failed";
      _fail(run, WORKER_CODES.has(code) ? code : "invalid_response", scrubErrorText(message));
      return;
    }
  }
}

function _run(message: ToSandbox & { t: "run" }): void {
  if (message.code === undefined && !contractUrls.has(message.hash)) {
    // Dropped since the server last sent it: nothing of this run has started yet.
    send({ t: "need", rid: message.rid });
    return;
  }
  const run: Run = {
    rid: message.rid,
    hash: message.hash,
    url: "",
    contractId: message.request.tana.contract.id,
    message: null,
    primed: false,
    worker: null,
    wid: 0,
    timer: undefined,
    calls: 0,
    logs: 0,
    dropped: 0,
    startedAt: performance.now(),
  };
  runs.set(run.rid, run);
  run.timer = setTimeout(
    () => _fail(run, "timeout", `Contract exceeded the ${limits.timeoutMs} ms time limit`),
    limits.timeoutMs,
  );
  try {
    run.url = _contractUrl(message);
  } catch (error) {
    _fail(run, "internal_error", `Cannot link contract: ${(error as Error).message}`);
    return;
  }
  run.message = {
    t: "run",
    url: run.url,
    handler: message.handler,
    request: message.request,
    block: message.block,
    readAhead: message.readAhead,
    maxResponseBytes: limits.maxResponseBytes,
    logLimits: { lines: limits.maxLogLines, bytes: limits.maxLogLineBytes },
  };
  const worker = _takePrimed(run.hash);
  run.primed = worker !== null;
  _start(run, worker);
}

/**
 * Hands a run to `worker`, or to a warm (or new) one. A worker still warming up or locking down
 * takes the run when `init` is done (`worker.ts`): no round trip to learn that it is ready.
 */
function _start(run: Run, primedWorker: Worker | null): void {
  const worker = primedWorker ?? pool.shift() ?? _spawn(false);
  run.worker = worker;
  run.wid = workerIds.get(worker) ?? 0;
  worker.onmessage = (event) => {
    // An exception here would end this process and every run in it: fail only this run, and
    // leave the detail on stderr, which the server logs.
    try {
      _onWorkerMessage(run, event.data);
    } catch (error) {
      console.error(`run ${run.rid}: cannot handle a worker message: ${(error as Error)?.stack}`);
      _fail(run, "internal_error", "Sandbox could not handle the contract's message");
    }
  };
  worker.onerror = (event) => {
    event.preventDefault();
    const text = event.message ?? "error";
    _fail(
      run,
      "contract_error",
      scrubErrorText(/^Uncaught\b/.test(text) ? text : `Uncaught ${text}`),
    );
  };
  worker.postMessage(run.message);
}

/**
 * Exits when the process grows past its resident-size ceiling. Which worker holds the memory
 * cannot be told, so this does what a V8 heap OOM does: the process dies, the server fails the
 * runs in flight with `memory_limit_exceeded` (the stderr line says "out of memory"), strikes
 * their contracts and starts a replacement.
 */
function _watchRss(): void {
  const max = limits.maxRssBytes ?? DEFAULT_MAX_RSS_BYTES;
  setInterval(() => {
    if (runs.size === 0) return;
    const rss = Deno.memoryUsage().rss;
    if (rss <= max) return;
    const mb = (n: number) => Math.round(n / (1024 * 1024));
    console.error(`sandbox: out of memory: resident size ${mb(rss)} MB exceeds ${mb(max)} MB`);
    Deno.exit(3);
  }, RSS_CHECK_MS);
}

/** Exits once every frame written so far has reached the pipe (the last result among them). */
async function _exit(): Promise<never> {
  for (const worker of pool) worker.terminate();
  primed?.worker.terminate();
  try {
    await writer.close();
  } catch {
    // The server has gone: nothing left to deliver.
  }
  Deno.exit(0);
}

function _init(message: ToSandbox & { t: "init" }): void {
  limits = message.limits;
  poolSize = message.poolSize;
  spawnAhead = message.spawnAhead;
  moduleUrls = {};
  for (const mod of message.modules) {
    moduleUrls[mod.name] = URL.createObjectURL(
      new Blob([linkModule(mod.code, mod.links, moduleUrls)], { type: "text/javascript" }),
    );
  }
  bootstrapUrl = moduleUrls[message.bootstrap];
  warmUrl = URL.createObjectURL(new Blob([WARM_MODULE], { type: "text/javascript" }));
  _refill();
  _watchRss();
  send({ t: "ready", pid: Deno.pid });
  let reported = -1;
  let reportedWarm = -1;
  setInterval(() => {
    const warm = pool.length + (primed ? 1 : 0);
    if (reported === spawned && reportedWarm === warm && runs.size === 0) return;
    reported = spawned;
    reportedWarm = warm;
    send({ t: "stats", rss: Deno.memoryUsage().rss, spawned, warm });
  }, STATS_INTERVAL_MS);
}

/**
 * Ctrl-C in a terminal, `timeout`, and systemd's default stop send the signal to every process of
 * the server's group, sandboxes included. The server drains on SIGINT and SIGTERM, and stops its
 * sandboxes itself by closing their stdin (then SIGKILL after a grace period); a sandbox that died
 * of the signal would fail the runs in flight that the server is waiting for, and be logged as a
 * crash. So a sandbox ignores both; it exits when its stdin closes, also if the server is killed.
 */
function _ignoreStopSignals(): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, () => {});
}

/** Entry point: serve frames until the server closes stdin, then finish what runs and exit. */
export async function runSandbox(): Promise<void> {
  _revokeAll();
  _ignoreStopSignals();
  try {
    for await (const { header } of readFrames<ToSandbox>(Deno.stdin.readable)) {
      switch (header.t) {
        case "init":
          _init(header);
          break;
        case "run":
          _run(header);
          break;
        case "pool":
          spawnAhead = header.spawnAhead;
          _refill();
          break;
        case "reply": {
          const run = runs.get(header.rid);
          run?.worker?.postMessage({
            t: "reply",
            cid: header.cid,
            ok: header.ok,
            value: header.value,
          });
          break;
        }
        case "cancel": {
          const run = runs.get(header.rid);
          if (!run) break;
          if (run.worker) _reportEnded(run.worker, run.contractId);
          _finish(run);
          break;
        }
      }
    }
  } catch (error) {
    console.error(`sandbox: protocol failure: ${(error as Error).message}`);
    Deno.exit(2);
  }
  draining = true;
  if (runs.size === 0) await _exit();
}

if (import.meta.main) await runSandbox();
