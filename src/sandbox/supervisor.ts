/**
 * The supervisor: starts the zero-permission sandbox processes, hands each request to one of
 * them, answers their host calls, and replaces them when they die or grow old.
 *
 * Admission is bounded (`admission.ts`): at most `sandboxConcurrency` runs per ready sandbox plus
 * `queueSize` waiting, fewer once the queue is standing, then 503 `overloaded` with `Retry-After`;
 * and while requests are being shed, a queued one waits only `QUEUE_OVERLOAD_TIMEOUT_MS`, and the
 * newest waiting run is served first. Memory therefore never grows with load, and neither does the
 * latency of what is admitted.
 *
 * Dispatch gives each sandbox one computing run at a time (see `turn.ts`): a run that waits for a
 * host call, or has computed for longer than a turn, lets the next one in. Every run needs
 * a fresh worker, and on a machine with few cores runs that start beside a computing one only
 * share its CPU, making each slower without adding throughput; waiting in the server's queue
 * instead, they can still go to whichever sandbox frees first.
 *
 * @module
 */
import type { Config } from "../config.ts";
import type { Link } from "../contracts/compile.ts";
import { EdgeError, type ErrorCode } from "../errors.ts";
import type { Metrics } from "../http/metrics.ts";
import { logger } from "../log.ts";
import type { TanaRequest } from "../shims/_runtime.ts";
import type { Block } from "../store/types.ts";
import {
  CONTRACTS_KEPT,
  type FromSandbox,
  type ShippedModule,
  type ToSandbox,
} from "./messages.ts";
import { BOOTSTRAP } from "./modules.ts";
import { sandboxRunArgs, sandboxV8Flags } from "./command.ts";
import { encodeFrame, readFrames } from "./protocol.ts";
import { admits, Overload, serviceOrder, type Waiting } from "./admission.ts";
import { Quarantine } from "./quarantine.ts";
import { EndedWorkers, workerThreadIds } from "./stuck.ts";
import { SpawnAhead } from "./spawn_ahead.ts";
import { Turn } from "./turn.ts";

const log = logger("sandbox");

/** How long the server waits past the contract time limit before giving up on a sandbox. */
const BACKSTOP_GRACE_MS = 1000;
/** Bytes of a sandbox's stderr kept to explain its death. */
const STDERR_TAIL_BYTES = 8192;
/** A crash this soon after a run timed out in the same sandbox is blamed on that run. */
const BLAME_WINDOW_MS = 2000;
const RECENT_TIMEOUTS_MAX = 64;
/** Delay before replacing a sandbox that died without ever becoming ready. */
const RESTART_BACKOFF_MS = 1000;
/** How long stopping waits for sandboxes to finish their runs before killing them. */
const STOP_GRACE_MS = 5000;
/** Sandboxes that may die before ever being ready while the server starts. */
const START_ATTEMPTS = 3;
/** A sandbox that does not report ready within this time is killed and replaced. */
const START_TIMEOUT_MS = 30_000;
/** How often the supervisor decides whether sandboxes spawn workers ahead. */
const SPAWN_AHEAD_WINDOW_MS = 250;
/** How often the sandboxes' threads are compared with the workers they terminated. */
const STUCK_CHECK_MS = 1000;

/** One contract run as the supervisor sees it. */
export interface RunJob {
  /** Id of the contract to run. */
  contractId: string;
  /** Id of the HTTP request, for logs. */
  requestId: string;
  /** Code hash; the sandbox caches compiled contracts by it. */
  hash: string;
  /** The compiled contract code. */
  code: string;
  /** Import specifiers to rewrite, in source order. */
  links: Link[];
  /** Name of the export to call. */
  handler: string;
  /** The request object passed to the handler. */
  request: TanaRequest;
  /** The latest block, or `null` when not needed or the chain is empty. */
  block: Block | null;
  /** Answers read ahead by the server, by call key (see `src/host/readahead.ts`). */
  readAhead: Record<string, unknown>;
  /** Answers a host call; a rejection is passed to the contract as an error. */
  onCall(op: string, args: unknown): Promise<unknown>;
  /** Receives one captured `console.*` line. */
  onLog(level: "debug" | "info" | "warn" | "error", text: string): void;
  /** Set by the supervisor: the sandbox that ran the job, for logs. */
  sandbox?: number;
}

/** A successful run: status and headers are known; a large body streams. */
export interface RunOutcome {
  /** HTTP status code. */
  status: number;
  /** Response headers. */
  headers: Record<string, string>;
  /** The whole body when it fit in one frame, else a stream of the frames as they arrive. */
  body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>;
  /** Keys of the read-ahead answers the run used, as its sandbox reported them. */
  readAheadUsed: string[];
}

interface Pending {
  job: RunJob;
  resolve(outcome: RunOutcome): void;
  reject(error: EdgeError): void;
  stream: ReadableStreamDefaultController<Uint8Array> | null;
  backstop: ReturnType<typeof setTimeout>;
  /** Set once the run fetched: the fetch may have changed something elsewhere. */
  fetched: boolean;
  /** Set on a run's second attempt. */
  retried: boolean;
  /** `performance.now()` at dispatch: the run computes for at most a turn (`turn.ts`). */
  dispatchedAt: number;
  /** Host calls the run is waiting for; while there are any, it is not computing. */
  awaiting: number;
  /** Whether the run made a host call: only runs that made none tell the turn's length. */
  called: boolean;
}

/**
 * A run waiting for a slot; `timer` sheds it when it has waited `QUEUE_TIMEOUT_MS` (or
 * `QUEUE_OVERLOAD_TIMEOUT_MS`, when it joined while requests were being shed; see `#shed` for a
 * wait cut short by a sustained overload).
 */
interface Queued extends Waiting {
  job: RunJob;
  resolve(outcome: RunOutcome): void;
  reject(error: EdgeError): void;
  timer?: ReturnType<typeof setTimeout>;
  /** The error it leaves the queue with when its wait is over. */
  expired?: () => EdgeError;
  /** `performance.now()` when its wait ends. */
  deadline?: number;
  /** `performance.now()` when it joined the queue. */
  queuedAt?: number;
  /** Set once a sustained overload cut its wait to `QUEUE_OVERLOAD_TIMEOUT_MS`. */
  cut?: boolean;
}

type SandboxState = "starting" | "ready" | "draining" | "dead";

const FAILURES: Record<string, [number, ErrorCode]> = {
  contract_error: [500, "contract_error"],
  invalid_response: [500, "invalid_response"],
  response_too_large: [500, "response_too_large"],
  limit_exceeded: [500, "limit_exceeded"],
  timeout: [504, "timeout"],
  internal_error: [500, "internal_error"],
};

class Sandbox {
  state: SandboxState = "starting";
  readonly pending = new Map<number, Pending>();
  served = 0;
  rss = 0;
  /** Warm workers in its pool, as last reported. */
  warm = 0;
  /** Set once a replacement has been started for this sandbox. */
  retiring = false;
  spawned = 0;
  stderrTail = "";
  closed = false;
  everReady = false;
  /** `performance.now()` of the last run handed to this sandbox. */
  lastDispatch = 0;
  /** Contracts whose runs here timed out recently: a dying worker may still crash the process. */
  recentTimeouts: { contractId: string; at: number }[] = [];
  /** The contract a worker here has imported ahead of its request: its code runs here too. */
  primedFor: string | null = null;
  /** Workers terminated here after running contract code, until their threads are gone. */
  readonly ended = new EndedWorkers();
  /**
   * Code hashes whose code was sent here, least recently run first, as the sandbox keeps them:
   * their runs go without the code (a large contract's code, JSON-escaped on every request, cost
   * a light-load request 0.7 ms at 65 KB). Should the sandbox have dropped one anyway, it answers
   * `need` and the run is sent again with it.
   */
  readonly shipped = new Set<string>();
  readonly ready: Promise<void>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #markReady!: () => void;

  constructor(readonly id: number, readonly child: Deno.ChildProcess) {
    this.#writer = child.stdin.getWriter();
    this.ready = new Promise((resolve) => this.#markReady = resolve);
  }

  markReady(): void {
    this.state = "ready";
    this.everReady = true;
    this.#markReady();
  }

  /**
   * Writes one frame to the sandbox.
   *
   * @param message the frame's header
   * @throws {RangeError} when it is larger than a frame may carry (see `protocol.ts`)
   */
  send(message: ToSandbox): void {
    if (this.closed) return;
    this.#writer.write(encodeFrame(message)).catch(() => {});
  }

  /** Closing stdin asks the sandbox to finish what runs and exit. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#writer.close().catch(() => {});
  }
}

/** Whether a run is computing: within its turn and not waiting for a host call. */
function _computing(run: Pending, now: number, turnMs: number): boolean {
  return run.awaiting === 0 && now < run.dispatchedAt + turnMs;
}

function _overloaded(): EdgeError {
  return new EdgeError(503, "overloaded", "Server is at capacity; retry shortly", {
    "retry-after": "1",
  });
}

/** Runs contracts in sandbox processes. */
export class Supervisor {
  /** Crash counts and quarantines of contracts. */
  readonly quarantine: Quarantine;
  #sandboxes = new Set<Sandbox>();
  #queue: Queued[] = [];
  /** Runs in progress per contract, for the per-contract concurrency cap. */
  #running = new Map<string, number>();
  #nextSandboxId = 1;
  #nextRunId = 1;
  /** Set while {@link Supervisor.start} waits for every sandbox to be ready. */
  #startup: { resolve: () => void; reject: (error: Error) => void; failures: number } | null = null;
  #stopping = false;
  #initMessage: ToSandbox & { t: "init" };
  #overload = new Overload();
  #allReady = false;
  /** Up to when the CPU demand of requests has been reported to {@link SpawnAhead}. */
  #demandAt = 0;
  /** Drains the queue when the earliest computing run's turn ends. */
  #turnTimer: ReturnType<typeof setTimeout> | undefined;
  #turnTimerAt = Infinity;
  #spawnAhead = new SpawnAhead();
  #turn = new Turn();
  #spawnAheadTimer: ReturnType<typeof setInterval> | undefined;
  #stuckTimer: ReturnType<typeof setInterval> | undefined;

  /**
   * Creates the supervisor; no sandbox runs until it is started.
   *
   * @param config limits and sizes
   * @param modules the worker modules (see `modules.ts`)
   * @param metrics where counters go
   */
  constructor(
    readonly config: Config,
    modules: ShippedModule[],
    readonly metrics: Metrics,
  ) {
    this.quarantine = new Quarantine(
      config.quarantineThreshold,
      config.quarantineWindowMs,
      config.quarantineMs,
    );
    this.#initMessage = {
      t: "init",
      modules,
      bootstrap: BOOTSTRAP,
      poolSize: config.sandboxPoolSize,
      spawnAhead: true,
      limits: {
        timeoutMs: config.requestTimeoutMs,
        maxResponseBytes: config.maxResponseBytes,
        maxLogLines: config.maxLogLines,
        maxLogLineBytes: config.maxLogLineBytes,
        maxHostCalls: config.maxHostCalls,
        // Memory outside the V8 heap (ArrayBuffers, Blobs) is not bounded by the heap limit.
        maxRssBytes: config.sandboxMaxRssMb * 2 * 1024 * 1024,
      },
    };
  }

  /**
   * Starts every sandbox process and resolves when all are ready. A sandbox that dies before it
   * is ready is replaced (after a back-off); after {@link START_ATTEMPTS} such deaths start-up
   * fails with the last sandbox's stderr instead of waiting for ever.
   */
  async start(): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#startup = { resolve, reject, failures: 0 };
    for (let i = 0; i < this.config.sandboxProcesses; i++) this.#spawn("initial");
    this.#spawnAhead = new SpawnAhead();
    this.#demandAt = performance.now();
    this.#spawnAheadTimer = setInterval(() => this.#decideSpawnAhead(), SPAWN_AHEAD_WINDOW_MS);
    this.#stuckTimer = setInterval(() => void this.#findStuckWorkers(), STUCK_CHECK_MS);
    try {
      await promise;
    } finally {
      this.#startup = null;
    }
  }

  /**
   * Ready sandbox processes and how many there should be; runs waiting, in flight, and computing
   * (in flight, within their turn and not waiting for a host call); warm workers as last reported,
   * and whether sandboxes keep their pools filled.
   */
  capacity(): {
    ready: number;
    expected: number;
    queued: number;
    inFlight: number;
    computing: number;
    warm: number;
    spawnAhead: boolean;
  } {
    const now = performance.now();
    const turnMs = this.#turn.ms;
    let ready = 0;
    let inFlight = 0;
    let computing = 0;
    let warm = 0;
    for (const s of this.#sandboxes) {
      inFlight += s.pending.size;
      for (const run of s.pending.values()) if (_computing(run, now, turnMs)) computing++;
      if (s.state !== "ready") continue;
      ready++;
      warm += s.warm;
    }
    return {
      ready,
      expected: this.config.sandboxProcesses,
      queued: this.#queue.length,
      inFlight,
      computing,
      warm,
      spawnAhead: this.#spawnAhead.enabled,
    };
  }

  /** Runs finished by each live sandbox, in start order (tests use it to see the spread). */
  served(): number[] {
    return [...this.#sandboxes].filter((s) => s.state !== "dead").map((s) => s.served);
  }

  /** Process ids of the live sandboxes (tests use them to kill one). */
  pids(): number[] {
    return [...this.#sandboxes].filter((s) => s.state !== "dead").map((s) => s.child.pid);
  }

  /**
   * Runs one contract request.
   *
   * @returns the status, headers and streaming body
   * @throws {EdgeError} for every way a run can end without a result
   */
  run(job: RunJob): Promise<RunOutcome> {
    const refused = this.refusal(job.contractId);
    if (refused) return Promise.reject(refused);
    const { promise, resolve, reject } = Promise.withResolvers<RunOutcome>();
    // Only with nobody waiting may a new run go straight to a sandbox; else the queue's order
    // decides (`#drainQueue`).
    const sandbox = this.#queue.length === 0 && this.#underCap(job.contractId)
      ? this.#pick()
      : null;
    if (sandbox) this.#dispatch(sandbox, { job, resolve, reject });
    else {
      // The queue has room (else `refusal` said so). A request that cannot start soon is better
      // refused now, while the client can retry elsewhere, than answered late: this bounds the
      // latency of what is admitted. While requests are being shed, "soon" is much shorter.
      const joinedShedding = this.#overload.shedding();
      const waitMs = joinedShedding ? this.#overloadWaitMs() : this.config.queueTimeoutMs;
      this.#enqueue({ job, resolve, reject, joinedShedding }, "back", waitMs, () => {
        this.metrics.queueTimeouts.inc();
        this.#shed();
        return _overloaded();
      });
      // Dispatches whatever can start, and otherwise arms the drain for the end of a turn.
      this.#drainQueue();
    }
    return promise;
  }

  /**
   * Why a run of this contract would be refused right now, if it would: the contract is
   * quarantined, every slot and place in the queue is taken, or the queue is standing and already
   * holds `queueSize` runs. The HTTP handler asks before it does the store reads a run needs, so
   * shed requests cost the store nothing; {@link run} asks again.
   *
   * @param contractId the contract to run
   * @returns the 503 to answer with, or `null` when the run would be admitted
   */
  refusal(contractId: string): EdgeError | null {
    const left = this.quarantine.remainingMs(contractId);
    if (left > 0) {
      this.metrics.quarantineRefusals.inc();
      const seconds = Math.ceil(left / 1000);
      return new EdgeError(
        503,
        "contract_quarantined",
        `Contract is quarantined for ${seconds} s after repeatedly crashing or hanging its sandbox`,
        { "retry-after": String(seconds) },
      );
    }
    if (this.#queue.length === 0 && this.#underCap(contractId) && this.#pick()) return null;
    return this.#admission();
  }

  /**
   * The 503 to answer with when no more requests are admitted right now, whatever the contract
   * (see `admission.ts`). Cheap, so the HTTP handler asks before it looks the contract up: under
   * a retry storm a shed request should cost next to nothing.
   *
   * @returns the 503 `overloaded`, or `null` when a run would be admitted
   */
  overloaded(): EdgeError | null {
    if (this.#queue.length === 0 && this.#pick()) return null;
    return this.#admission();
  }

  #admission(): EdgeError | null {
    let ready = 0;
    let inFlight = 0;
    for (const s of this.#sandboxes) {
      if (s.state === "ready") ready++;
      inFlight += s.pending.size;
    }
    let waitingToRun = 0;
    for (const item of this.#queue) if (this.#underCap(item.job.contractId)) waitingToRun++;
    const admitted = admits({
      ready,
      inFlight,
      waiting: this.#queue.length,
      waitingToRun,
      standing: this.#overload.standing(),
      concurrency: this.config.sandboxConcurrency,
      queueSize: this.config.queueSize,
    });
    if (admitted) return null;
    this.#shed();
    return _overloaded();
  }

  /** Notes a request refused as overloaded, at admission or after waiting in the queue. */
  #shed(): void {
    this.#overload.shed();
    this.#spawnAhead.shed();
    if (!this.#overload.sustained()) return;
    // An overload, not a burst: the requests admitted at its start, before any was shed, may wait
    // `QUEUE_TIMEOUT_MS`, and their wait made the overload's p99. They keep their place at the
    // front (`serviceOrder`) but, like every later arrival, wait only the overload's short time.
    const now = performance.now();
    const waitMs = this.#overloadWaitMs();
    for (const item of this.#queue) {
      if (item.joinedShedding || item.retried || item.cut) continue;
      item.cut = true;
      if (item.deadline! - now > waitMs) this.#arm(item, waitMs);
    }
  }

  /** How long a request may wait while requests are being shed (never longer than otherwise). */
  #overloadWaitMs(): number {
    return Math.min(this.config.queueOverloadTimeoutMs, this.config.queueTimeoutMs);
  }

  /** Stops every sandbox (waiting for runs in progress) and refuses new work. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#spawnAheadTimer);
    clearInterval(this.#stuckTimer);
    clearTimeout(this.#turnTimer);
    for (const item of this.#queue.splice(0)) {
      clearTimeout(item.timer);
      item.reject(
        new EdgeError(503, "overloaded", "Server is shutting down", { "retry-after": "1" }),
      );
    }
    const exits = [...this.#sandboxes].map((s) => {
      s.close();
      return s.child.status.catch(() => {});
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(exits),
      new Promise((r) => timer = setTimeout(r, STOP_GRACE_MS)),
    ]);
    clearTimeout(timer);
    for (const s of this.#sandboxes) {
      try {
        s.child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  }

  /**
   * The ready sandbox with a free slot, no computing run and the fewest runs; among equals, the
   * one that was given a run longest ago. A sandbox refills its warm pool after each run, and
   * `new Worker()` blocks its main thread meanwhile (≈ 7–18 ms): always picking the first idle
   * sandbox sent most requests at moderate load into that block while the other sandbox sat idle
   * with a full pool. When only computing runs stand in the way, the queue is drained again as
   * soon as the first of their turns ends.
   */
  #pick(): Sandbox | null {
    const now = performance.now();
    let best: Sandbox | null = null;
    let turnEnds = Infinity;
    for (const s of this.#sandboxes) {
      if (s.state !== "ready" || s.pending.size >= this.config.sandboxConcurrency) continue;
      const computingUntil = this.#computingUntil(s, now);
      if (computingUntil > now) {
        turnEnds = Math.min(turnEnds, computingUntil);
        continue;
      }
      if (
        !best || s.pending.size < best.pending.size ||
        (s.pending.size === best.pending.size && s.lastDispatch < best.lastDispatch)
      ) best = s;
    }
    if (!best && turnEnds < Infinity && this.#queue.length > 0) this.#drainAt(turnEnds);
    return best;
  }

  /** When the latest turn of the sandbox's computing runs ends; 0 when none computes. */
  #computingUntil(sandbox: Sandbox, now: number): number {
    const turnMs = this.#turn.ms;
    let until = 0;
    for (const run of sandbox.pending.values()) {
      if (_computing(run, now, turnMs)) until = Math.max(until, run.dispatchedAt + turnMs);
    }
    return until;
  }

  /**
   * Reports to {@link SpawnAhead} the CPU demand since the last report: runs waiting that their
   * contract's cap does not hold back, and runs computing. Called before anything that changes
   * either, so that each span is counted in the state it was in.
   */
  #countDemand(): void {
    const now = performance.now();
    const from = this.#demandAt;
    this.#demandAt = now;
    if (now <= from) return;
    const turnMs = this.#turn.ms;
    let ms = 0;
    for (const item of this.#queue) if (this.#underCap(item.job.contractId)) ms += now - from;
    for (const s of this.#sandboxes) {
      for (const run of s.pending.values()) {
        if (run.awaiting > 0) continue;
        const computed = Math.min(now, run.dispatchedAt + turnMs) -
          Math.max(from, run.dispatchedAt);
        if (computed > 0) ms += computed;
      }
    }
    this.#spawnAhead.demand(ms);
  }

  /** Ends a window of {@link SpawnAhead} and tells the sandboxes when its answer changes. */
  #decideSpawnAhead(): void {
    this.#countDemand();
    let ready = 0;
    for (const s of this.#sandboxes) if (s.state === "ready") ready++;
    const cores = Math.min(ready, navigator.hardwareConcurrency || ready);
    if (!this.#spawnAhead.update(cores)) return;
    const spawnAhead = this.#spawnAhead.enabled;
    this.metrics.spawnAhead.set(spawnAhead ? 1 : 0);
    log.info(
      spawnAhead
        ? "Spawning workers ahead again: requests come slower than at saturation, or to measure again"
        : "Spawning each run's worker when it arrives: requests keep every core busy",
      { spawnAhead },
    );
    for (const s of this.#sandboxes) {
      if (s.state === "starting" || s.state === "ready") s.send({ t: "pool", spawnAhead });
    }
  }

  /** Drains the queue at `at` (a `performance.now()` time), unless a drain is due sooner. */
  #drainAt(at: number): void {
    if (this.#turnTimer !== undefined && this.#turnTimerAt <= at) return;
    clearTimeout(this.#turnTimer);
    this.#turnTimerAt = at;
    this.#turnTimer = setTimeout(() => {
      this.#turnTimer = undefined;
      this.#turnTimerAt = Infinity;
      this.#drainQueue();
    }, Math.max(0, at - performance.now()) + 1);
  }

  /** Whether the contract may start one more run (one tenant never holds every slot). */
  #underCap(contractId: string): boolean {
    return (this.#running.get(contractId) ?? 0) < this.config.contractConcurrency;
  }

  /**
   * Hands waiting runs to free sandboxes in {@link serviceOrder}'s order (oldest first; while
   * requests are shed, the newest of those that joined meanwhile), skipping contracts at their cap
   * so they cannot block everyone behind them.
   */
  #drainQueue(): void {
    this.#countDemand();
    const queue = this.#queue;
    // Called after every run and every arrival; at light load the queue is empty.
    if (queue.length === 0) return this.#queueChanged();
    for (const item of serviceOrder(queue, this.#overload.shedding())) {
      if (!this.#underCap(item.job.contractId)) continue;
      const sandbox = this.#pick();
      if (!sandbox) break;
      queue.splice(queue.indexOf(item), 1);
      clearTimeout(item.timer);
      this.#dispatch(sandbox, item);
    }
    this.#queueChanged();
  }

  #dispatch(
    sandbox: Sandbox,
    item: Queued,
  ): void {
    this.#countDemand();
    const { job } = item;
    const rid = this.#nextRunId++;
    job.sandbox = sandbox.id;
    const now = performance.now();
    this.metrics.queueWait.observe(item.queuedAt === undefined ? 0 : (now - item.queuedAt) / 1000);
    const pending: Pending = {
      job,
      resolve: item.resolve,
      reject: item.reject,
      stream: null,
      fetched: false,
      retried: item.retried ?? false,
      dispatchedAt: now,
      awaiting: 0,
      called: false,
      backstop: setTimeout(() => {
        // The sandbox enforces the limit itself; this only fires if it stopped answering.
        sandbox.send({ t: "cancel", rid });
        this.#settle(
          sandbox,
          rid,
          new EdgeError(504, "timeout", "Contract did not answer in time"),
        );
      }, this.config.requestTimeoutMs + BACKSTOP_GRACE_MS),
    };
    sandbox.pending.set(rid, pending);
    sandbox.lastDispatch = now;
    this.metrics.inFlight.inc();
    this.#running.set(job.contractId, (this.#running.get(job.contractId) ?? 0) + 1);
    this.#sendRun(sandbox, rid, job, sandbox.shipped.has(job.hash) ? null : "new");
  }

  /**
   * Writes a run's frame, with the contract's code when `withCode` says why it must go.
   *
   * @param withCode `new`: not sent to this sandbox before; `asked`: the sandbox dropped it;
   *   `null`: the sandbox has it
   */
  #sendRun(sandbox: Sandbox, rid: number, job: RunJob, withCode: "new" | "asked" | null): void {
    try {
      sandbox.send({
        t: "run",
        rid,
        hash: job.hash,
        code: withCode ? job.code : undefined,
        links: withCode ? job.links : undefined,
        handler: job.handler,
        request: job.request,
        block: job.block,
        readAhead: job.readAhead,
      });
    } catch {
      // Only a request too large for one frame gets here (JSON escapes can grow a body sixfold).
      this.#settle(
        sandbox,
        rid,
        new EdgeError(413, "body_too_large", "Request is too large to hand to a sandbox"),
      );
      return;
    }
    if (withCode) this.metrics.codeSent.inc({ reason: withCode });
    // Most recently run last, dropping the least recent beyond what the sandbox keeps: its order.
    const shipped = sandbox.shipped;
    shipped.delete(job.hash);
    shipped.add(job.hash);
    if (shipped.size > CONTRACTS_KEPT) shipped.delete(shipped.values().next().value!);
  }

  /** Takes a run off its sandbox and out of the counts, without answering it. */
  #release(sandbox: Sandbox, rid: number): Pending | undefined {
    const pending = sandbox.pending.get(rid);
    if (!pending) return;
    this.#countDemand();
    sandbox.pending.delete(rid);
    clearTimeout(pending.backstop);
    this.metrics.inFlight.dec();
    const running = (this.#running.get(pending.job.contractId) ?? 1) - 1;
    if (running > 0) this.#running.set(pending.job.contractId, running);
    else this.#running.delete(pending.job.contractId);
    return pending;
  }

  /** Ends a run: with an error if given, else normally (its stream is already closed). */
  #settle(sandbox: Sandbox, rid: number, error?: EdgeError): void {
    const pending = this.#release(sandbox, rid);
    if (!pending) return;
    // Only runs a sandbox answered: requests shed from the queue say nothing of its capacity.
    this.#spawnAhead.answered();
    if (!error && !pending.called) this.#turn.record(performance.now() - pending.dispatchedAt);
    if (error) {
      this.metrics.runFailures.inc({ code: error.code });
      if (error.code === "timeout") {
        sandbox.recentTimeouts.push({ contractId: pending.job.contractId, at: Date.now() });
        if (sandbox.recentTimeouts.length > RECENT_TIMEOUTS_MAX) sandbox.recentTimeouts.shift();
      }
      if (pending.stream) {
        try {
          pending.stream.error(error);
        } catch {
          // stream already closed by the client
        }
      } else pending.reject(error);
    }
    sandbox.served++;
    this.#maybeRecycle(sandbox);
    if (sandbox.state === "draining" && sandbox.pending.size === 0) sandbox.close();
    this.#drainQueue();
  }

  #maybeRecycle(sandbox: Sandbox): void {
    if (sandbox.state !== "ready" || this.#stopping) return;
    const old = sandbox.served >= this.config.sandboxMaxRequests;
    const big = sandbox.rss > this.config.sandboxMaxRssMb * 1024 * 1024;
    if ((!old && !big) || sandbox.retiring) return;
    log.info("Recycling sandbox {sandbox}: {reason}", {
      sandbox: sandbox.id,
      reason: old ? `served ${sandbox.served} requests` : `rss ${sandbox.rss} bytes`,
      served: sandbox.served,
      rss: sandbox.rss,
    });
    this.#replace(sandbox, "recycle");
  }

  /**
   * Looks for workers that did not stop when their sandbox terminated them (see `stuck.ts`).
   * Such a thread keeps its core busy, or its memory, until its process ends: the contract gets a
   * strike, as for a crash, and the sandbox is replaced without failing a request.
   */
  async #findStuckWorkers(): Promise<void> {
    for (const sandbox of this.#sandboxes) {
      if (sandbox.ended.size === 0 || sandbox.state === "dead") continue;
      const threads = await workerThreadIds(sandbox.child.pid);
      if (!threads) continue;
      const stuck = sandbox.ended.check(threads);
      if (stuck.length === 0) continue;
      for (const { w, contractId } of stuck) {
        this.metrics.stuckWorkers.inc();
        log.error(
          "Sandbox {sandbox}: the worker of contract {contractId} kept running after it was terminated; replacing the sandbox",
          { sandbox: sandbox.id, contractId, worker: w },
        );
        this.#strike(contractId);
      }
      if (sandbox.state === "ready" && !sandbox.retiring && !this.#stopping) {
        this.#replace(sandbox, "stuck");
      }
    }
  }

  /**
   * Starts a replacement for `sandbox`, which keeps serving until the replacement is ready, so
   * capacity never dips and queued requests do not wait out a start-up (≈ 0.3 s) and time out.
   * Then it takes no new runs and exits once its runs in flight have ended.
   */
  #replace(sandbox: Sandbox, reason: "recycle" | "stuck"): void {
    sandbox.retiring = true;
    const next = this.#spawn(reason);
    void next.ready.then(() => {
      if (sandbox.state !== "ready") return;
      sandbox.state = "draining";
      this.#updateReady();
      if (sandbox.pending.size === 0) sandbox.close();
    });
    void next.child.status.then(() => {
      if (!next.everReady) sandbox.retiring = false; // try again on a later report
    });
  }

  #command(): Deno.Command {
    const v8Flags = sandboxV8Flags(this.config.sandboxHeapMb);
    const env: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
    for (const name of ["HOME", "DENO_DIR", "XDG_CACHE_HOME", "PATH"]) {
      const value = Deno.env.get(name);
      if (value) env[name] = value;
    }
    const options = {
      clearEnv: true,
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    } as const;
    if (Deno.build.standalone) {
      // A compiled binary re-runs itself; the sandbox entry revokes what the binary was granted.
      return new Deno.Command(Deno.execPath(), {
        ...options,
        args: ["sandbox"],
        env: { ...env, DENO_V8_FLAGS: v8Flags },
      });
    }
    return new Deno.Command(Deno.execPath(), {
      ...options,
      args: sandboxRunArgs(
        this.config.sandboxHeapMb,
        new URL("./process.ts", import.meta.url).href,
      ),
    });
  }

  #spawn(reason: "initial" | "crash" | "recycle" | "stuck"): Sandbox {
    const sandbox = new Sandbox(this.#nextSandboxId++, this.#command().spawn());
    this.#sandboxes.add(sandbox);
    this.metrics.sandboxStarts.inc({ reason });
    log.debug("Starting sandbox {sandbox} ({reason})", { sandbox: sandbox.id, reason });
    sandbox.send({ ...this.#initMessage, spawnAhead: this.#spawnAhead.enabled });
    const timer = setTimeout(() => {
      if (sandbox.state !== "starting") return;
      log.error("Sandbox {sandbox} did not start in time", { sandbox: sandbox.id });
      try {
        sandbox.child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, START_TIMEOUT_MS);
    const framesRead = this.#readFrames(sandbox).finally(() => clearTimeout(timer));
    void this.#readStderr(sandbox);
    // Frames still in the pipe when the process exits (its last results) are read first.
    void Promise.all([sandbox.child.status, framesRead]).then(([status]) =>
      this.#onExit(sandbox, status)
    );
    return sandbox;
  }

  async #readFrames(sandbox: Sandbox): Promise<void> {
    try {
      for await (const { header, payload } of readFrames<FromSandbox>(sandbox.child.stdout)) {
        this.#onFrame(sandbox, header, payload);
      }
    } catch (error) {
      log.error("Sandbox {sandbox} broke the protocol: {error}", {
        sandbox: sandbox.id,
        error: (error as Error).message,
      });
      try {
        sandbox.child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  }

  async #readStderr(sandbox: Sandbox): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of sandbox.child.stderr) {
        const text = decoder.decode(chunk, { stream: true });
        sandbox.stderrTail = (sandbox.stderrTail + text).slice(-STDERR_TAIL_BYTES);
        log.warn("Sandbox {sandbox} stderr: {text}", { sandbox: sandbox.id, text: text.trim() });
      }
    } catch {
      // process gone
    }
  }

  #onFrame(sandbox: Sandbox, message: FromSandbox, payload: Uint8Array | null): void {
    switch (message.t) {
      case "ready":
        sandbox.markReady();
        this.#updateReady();
        log.info("Sandbox {sandbox} ready (pid {pid})", { sandbox: sandbox.id, pid: message.pid });
        this.#drainQueue();
        return;
      case "stats":
        this.metrics.workerSpawns.inc(Math.max(0, message.spawned - sandbox.spawned));
        sandbox.spawned = message.spawned;
        sandbox.rss = message.rss;
        sandbox.warm = message.warm;
        this.metrics.sandboxRss.set({ sandbox: String(sandbox.id) }, message.rss);
        this.#maybeRecycle(sandbox);
        if (sandbox.state === "draining" && sandbox.pending.size === 0) sandbox.close();
        return;
      case "primed":
        sandbox.primedFor = typeof message.contractId === "string" ? message.contractId : null;
        return;
      case "ended":
        sandbox.ended.note(message.w, String(message.contractId));
        return;
    }
    const pending = sandbox.pending.get(message.rid);
    if (!pending) return; // already settled (cancelled, timed out)
    if (message.t === "head" || message.t === "fail") {
      // The run's worker is terminated after its last frame; its thread must then go (`stuck.ts`).
      if (message.w) sandbox.ended.note(message.w, pending.job.contractId);
      if (message.primed) {
        this.metrics.primedRuns.inc();
        // The primed worker became this run's: its contract is no longer loaded ahead here.
        if (sandbox.primedFor === pending.job.contractId) sandbox.primedFor = null;
      }
    }
    switch (message.t) {
      case "need":
        this.#sendRun(sandbox, message.rid, pending.job, "asked");
        return;
      case "head": {
        if (message.end) {
          // The whole body came in this frame: hand it over as bytes, which lets the HTTP
          // layer send a Content-Length response instead of a chunked stream.
          const body = (payload ?? new Uint8Array(0)) as Uint8Array<ArrayBuffer>;
          pending.resolve({
            status: message.status,
            headers: message.headers,
            body,
            readAheadUsed: message.used,
          });
          this.#settle(sandbox, message.rid);
          return;
        }
        const body = new ReadableStream<Uint8Array>({
          start: (controller) => {
            pending.stream = controller;
          },
          cancel: () => {
            sandbox.send({ t: "cancel", rid: message.rid });
            this.#settle(sandbox, message.rid);
          },
        });
        pending.resolve({
          status: message.status,
          headers: message.headers,
          body,
          readAheadUsed: message.used,
        });
        return;
      }
      case "chunk":
        if (payload) pending.stream?.enqueue(payload);
        return;
      case "end":
        pending.stream?.close();
        this.#settle(sandbox, message.rid);
        return;
      case "fail": {
        const [status, code] = FAILURES[message.code] ?? FAILURES.internal_error;
        if (code === "internal_error") {
          // The sandbox's own fault, which may quote host internals: the log gets the text.
          log.error("Sandbox {sandbox} failed a run: {text}", {
            sandbox: sandbox.id,
            text: message.message,
            contractId: pending.job.contractId,
            requestId: pending.job.requestId,
          });
        }
        const text = code === "internal_error"
          ? "The sandbox could not run this request"
          : message.message;
        this.#settle(sandbox, message.rid, new EdgeError(status, code, text));
        return;
      }
      case "log":
        pending.job.onLog(message.level, message.text);
        return;
      case "call": {
        const { rid, cid } = message;
        if (message.op === "fetch") pending.fetched = true;
        // Waiting for the host, the run is not computing: another may start in its sandbox.
        this.#countDemand();
        pending.awaiting++;
        pending.called = true;
        if (this.#queue.length > 0) this.#drainQueue();
        const fail = (name: string, message: string) =>
          sandbox.send({ t: "reply", rid, cid, ok: false, value: { name, message } });
        pending.job.onCall(message.op, message.args).finally(() => {
          this.#countDemand();
          pending.awaiting--;
        }).then(
          (value) => {
            try {
              sandbox.send({ t: "reply", rid, cid, ok: true, value });
            } catch {
              // A KV value or fetched body can be larger than one frame: the call fails, the
              // request and the sandbox go on.
              fail("RangeError", "Host call result is too large to hand to a contract");
            }
          },
          (error: Error) => fail(error.name, error.message),
        );
        return;
      }
    }
  }

  #onExit(sandbox: Sandbox, status: Deno.CommandStatus): void {
    const expected = sandbox.closed && status.success;
    const wasReady = sandbox.state === "ready";
    sandbox.state = "dead";
    this.#sandboxes.delete(sandbox);
    this.metrics.sandboxRss.remove({ sandbox: String(sandbox.id) });
    this.#updateReady();
    if (this.#startup && !sandbox.everReady && ++this.#startup.failures >= START_ATTEMPTS) {
      const tail = sandbox.stderrTail.trim().slice(-1000) || "no output";
      this.#startup.reject(
        new Error(`Sandbox processes did not start (${START_ATTEMPTS} attempts): ${tail}`),
      );
    }
    if (expected) {
      log.debug("Sandbox {sandbox} exited", { sandbox: sandbox.id });
    } else {
      const oom = /out of memory|heap limit|allocation failed/i.test(sandbox.stderrTail);
      const code: ErrorCode = oom ? "memory_limit_exceeded" : "sandbox_crashed";
      this.metrics.sandboxCrashes.inc({ reason: code });
      const inFlight = [...sandbox.pending.values()].map((p) => p.job.contractId);
      // A primed module's code runs outside any request: its contract is a suspect too.
      if (sandbox.primedFor) inFlight.push(sandbox.primedFor);
      const recent = sandbox.recentTimeouts.filter((r) => Date.now() - r.at < BLAME_WINDOW_MS)
        .map((r) => r.contractId);
      // A contract whose run just timed out here is the likeliest cause (its worker may die
      // after the request ended): blame it alone, so bystanders are not quarantined.
      const victims = recent.length > 0 ? recent : inFlight;
      log.error("Sandbox {sandbox} died ({code}, exit {exitCode}, signal {signal})", {
        sandbox: sandbox.id,
        code,
        exitCode: status.code,
        signal: status.signal,
        inFlight,
        blamed: [...new Set(victims)],
      });
      for (const contractId of new Set(victims)) this.#strike(contractId);
      const message = oom
        ? "Contract exceeded the sandbox memory limit"
        : "The sandbox running this request stopped unexpectedly";
      const blamed = new Set(victims);
      for (const [rid, pending] of [...sandbox.pending]) {
        if (this.#retryable(pending, blamed)) this.#retry(sandbox, rid);
        else this.#settle(sandbox, rid, new EdgeError(503, code, message, { "retry-after": "1" }));
      }
    }
    for (const rid of [...sandbox.pending.keys()]) {
      this.#settle(
        sandbox,
        rid,
        new EdgeError(503, "sandbox_crashed", "Sandbox exited", { "retry-after": "1" }),
      );
    }
    if (
      !this.#stopping && (wasReady || !expected) && this.#liveCount() < this.config.sandboxProcesses
    ) {
      // A sandbox that died before it was ever ready would die again at once: back off.
      const delay = sandbox.everReady ? 0 : RESTART_BACKOFF_MS;
      setTimeout(() => {
        if (!this.#stopping && this.#liveCount() < this.config.sandboxProcesses) {
          this.#spawn(expected ? "recycle" : "crash");
        }
      }, delay);
    }
    this.#drainQueue();
  }

  /** Counts a sandbox lost to the contract, and quarantines it after too many. */
  #strike(contractId: string): void {
    if (!this.quarantine.strike(contractId)) return;
    this.metrics.quarantines.inc();
    log.warn("Contract {contractId} quarantined for {ms} ms", {
      contractId,
      ms: this.config.quarantineMs,
    });
  }

  /**
   * Whether a run cut short by its sandbox's death may run again: edge handlers are read-only, so
   * a second attempt is safe unless the run fetched (the fetch may have changed something
   * elsewhere) or its response had begun. Runs of a contract blamed for the crash are not
   * retried, so a crasher cannot take a second sandbox down with it.
   */
  #retryable(pending: Pending, blamed: Set<string>): boolean {
    return !this.#stopping && !pending.retried && !pending.fetched && !pending.stream &&
      !blamed.has(pending.job.contractId);
  }

  /**
   * Queues a bystander of a crash for a second attempt, ahead of new requests. It may wait for as
   * long as a run may take (with one sandbox, for the replacement to start).
   */
  #retry(sandbox: Sandbox, rid: number): void {
    const pending = this.#release(sandbox, rid)!;
    const { job, resolve, reject } = pending;
    this.metrics.runRetries.inc();
    log.info("Retrying the run of {contractId} after its sandbox {sandbox} died", {
      contractId: job.contractId,
      requestId: job.requestId,
      sandbox: sandbox.id,
    });
    const item: Queued = { job, resolve, reject, retried: true };
    this.#enqueue(
      item,
      "front",
      this.config.requestTimeoutMs,
      () =>
        new EdgeError(503, "sandbox_crashed", "The sandbox running this request stopped", {
          "retry-after": "1",
        }),
    );
  }

  /** Queues a run; if no slot takes it within `waitMs`, it leaves the queue with `expired()`. */
  #enqueue(item: Queued, end: "front" | "back", waitMs: number, expired: () => EdgeError): void {
    this.#countDemand();
    item.expired = expired;
    item.queuedAt = performance.now();
    this.#arm(item, waitMs);
    if (end === "front") this.#queue.unshift(item);
    else this.#queue.push(item);
    this.#queueChanged();
  }

  /** (Re)starts a queued run's wait: after `waitMs`, it leaves the queue with `item.expired()`. */
  #arm(item: Queued, waitMs: number): void {
    clearTimeout(item.timer);
    item.deadline = performance.now() + waitMs;
    item.timer = setTimeout(() => {
      const at = this.#queue.indexOf(item);
      if (at === -1) return;
      this.#countDemand();
      this.#queue.splice(at, 1);
      this.#queueChanged();
      item.reject(item.expired!());
    }, waitMs);
  }

  #queueChanged(): void {
    this.metrics.queueDepth.set(this.#queue.length);
    this.#overload.update(this.#queue.length, this.#allReady);
  }

  #liveCount(): number {
    let n = 0;
    for (const s of this.#sandboxes) if (s.state === "starting" || s.state === "ready") n++;
    return n;
  }

  #updateReady(): void {
    let ready = 0;
    for (const s of this.#sandboxes) if (s.state === "ready") ready++;
    const allReady = ready >= this.config.sandboxProcesses;
    this.#allReady = allReady;
    this.#overload.update(this.#queue.length, allReady);
    this.metrics.sandboxesReady.set(ready);
    if (allReady) this.#startup?.resolve();
  }
}
