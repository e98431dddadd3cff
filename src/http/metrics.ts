/**
 * Prometheus metrics, served at `GET /metrics`.
 *
 * @module
 */
import client from "prom-client";

/** Every metric tana-edge exports, in one registry. */
export class Metrics {
  /** The registry behind `/metrics`. */
  readonly registry: client.Registry = new client.Registry();
  /** HTTP requests by method, route kind and status. */
  readonly requests: client.Counter<"status" | "method" | "route">;
  /** Request duration. */
  readonly duration: client.Histogram<"route">;
  /** Workers spawned by sandboxes. */
  readonly workerSpawns: client.Counter;
  /** `tana_edge_stuck_workers_total`: terminated workers whose thread kept running. */
  readonly stuckWorkers: client.Counter;
  /** `tana_edge_primed_runs_total`: runs served by a worker primed with their contract. */
  readonly primedRuns: client.Counter;
  /** Compile cache hits and misses. */
  readonly compileCache: client.Counter<"result">;
  /** `tana_edge_contract_code_sent_total`: compiled contracts sent to a sandbox, by reason. */
  readonly codeSent: client.Counter<"reason">;
  /** Contract runs that ended without a result, by code. */
  readonly runFailures: client.Counter<"code">;
  /** `tana_edge_run_retries_total`: bystanders of a sandbox crash run again elsewhere. */
  readonly runRetries: client.Counter;
  /** Queued requests refused because no slot freed up within their queue timeout. */
  readonly queueTimeouts: client.Counter;
  /** `tana_edge_read_ahead_total{result}`: read-ahead answers used or shipped in vain. */
  readonly readAhead: client.Counter<"result">;
  /** Sandbox processes started, by reason. */
  readonly sandboxStarts: client.Counter<"reason">;
  /** Sandbox processes that died unexpectedly. */
  readonly sandboxCrashes: client.Counter<"reason">;
  /** Contracts put into quarantine. */
  readonly quarantines: client.Counter;
  /** Requests refused because a contract was quarantined. */
  readonly quarantineRefusals: client.Counter;
  /** Requests waiting for a sandbox slot. */
  readonly queueDepth: client.Gauge;
  /** How long each run waited for a sandbox slot (0 when one was free on arrival). */
  readonly queueWait: client.Histogram;
  /** Contract runs in progress. */
  readonly inFlight: client.Gauge;
  /** Ready sandbox processes. */
  readonly sandboxesReady: client.Gauge;
  /** 1 while sandboxes keep warm pools, 0 while requests keep every core busy. */
  readonly spawnAhead: client.Gauge;
  /** Resident memory of sandbox processes as last reported, by sandbox. */
  readonly sandboxRss: client.Gauge<"sandbox">;
  /** Store queries that failed because the store was unavailable. */
  readonly storeUnavailable: client.Counter;
  /** Contract cache invalidations by source. */
  readonly invalidations: client.Counter<"source">;

  constructor() {
    const registers = [this.registry];
    client.collectDefaultMetrics({ register: this.registry, prefix: "tana_edge_process_" });
    this.requests = new client.Counter({
      name: "tana_edge_http_requests_total",
      help: "HTTP requests by method, route and status",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.duration = new client.Histogram({
      name: "tana_edge_http_request_duration_seconds",
      help: "HTTP request duration",
      labelNames: ["route"],
      buckets: [
        0.001,
        0.002,
        0.003,
        0.005,
        0.0075,
        0.01,
        0.015,
        0.025,
        0.05,
        0.1,
        0.25,
        0.5,
        1,
        2.5,
        5,
        10,
      ],
      registers,
    });
    this.workerSpawns = new client.Counter({
      name: "tana_edge_worker_spawns_total",
      help: "Contract workers spawned by sandbox processes",
      registers,
    });
    this.stuckWorkers = new client.Counter({
      name: "tana_edge_stuck_workers_total",
      help:
        "Contract workers that kept running after they were terminated (their sandbox is replaced)",
      registers,
    });
    this.primedRuns = new client.Counter({
      name: "tana_edge_primed_runs_total",
      help: "Contract runs served by a worker that had imported the contract ahead of the request",
      registers,
    });
    this.compileCache = new client.Counter({
      name: "tana_edge_compile_cache_total",
      help: "Compile cache lookups by result (hit or miss)",
      labelNames: ["result"],
      registers,
    });
    this.codeSent = new client.Counter({
      name: "tana_edge_contract_code_sent_total",
      help:
        "Compiled contracts sent to a sandbox process with a run, by reason (new: not sent to it before; asked: it had dropped the code)",
      labelNames: ["reason"],
      registers,
    });
    this.runFailures = new client.Counter({
      name: "tana_edge_contract_failures_total",
      help: "Contract runs that ended without a result, by error code",
      labelNames: ["code"],
      registers,
    });
    this.queueTimeouts = new client.Counter({
      name: "tana_edge_queue_timeouts_total",
      help:
        "Queued requests refused with 503 after waiting QUEUE_TIMEOUT_MS (QUEUE_OVERLOAD_TIMEOUT_MS in a standing queue) for a sandbox slot",
      registers,
    });
    this.runRetries = new client.Counter({
      name: "tana_edge_run_retries_total",
      help: "Runs cut short by a sandbox crash they did not cause, run again in another sandbox",
      registers,
    });
    this.readAhead = new client.Counter({
      name: "tana_edge_read_ahead_total",
      help: "Answers read ahead before a run, by whether the run used them (used or unused)",
      labelNames: ["result"],
      registers,
    });
    this.sandboxStarts = new client.Counter({
      name: "tana_edge_sandbox_starts_total",
      help: "Sandbox processes started, by reason (initial, crash, recycle, stuck)",
      labelNames: ["reason"],
      registers,
    });
    this.sandboxCrashes = new client.Counter({
      name: "tana_edge_sandbox_crashes_total",
      help: "Sandbox processes that died unexpectedly, by reason",
      labelNames: ["reason"],
      registers,
    });
    this.quarantines = new client.Counter({
      name: "tana_edge_quarantines_total",
      help: "Contracts quarantined for crashing sandboxes",
      registers,
    });
    this.quarantineRefusals = new client.Counter({
      name: "tana_edge_quarantine_refusals_total",
      help: "Requests refused because their contract was quarantined",
      registers,
    });
    this.queueDepth = new client.Gauge({
      name: "tana_edge_queue_depth",
      help: "Requests waiting for a sandbox slot",
      registers,
    });
    // With the request duration, this splits a slow answer into waiting and running.
    this.queueWait = new client.Histogram({
      name: "tana_edge_queue_wait_seconds",
      help:
        "Time each run waited for a sandbox slot before it was handed to a sandbox (0 when a slot was free on arrival)",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.inFlight = new client.Gauge({
      name: "tana_edge_runs_in_flight",
      help: "Contract runs in progress",
      registers,
    });
    this.sandboxesReady = new client.Gauge({
      name: "tana_edge_sandboxes_ready",
      help: "Sandbox processes ready to take requests",
      registers,
    });
    this.spawnAhead = new client.Gauge({
      name: "tana_edge_spawn_ahead",
      help:
        "1 while sandboxes keep warm workers spawned ahead, 0 while requests keep every core busy",
      registers,
    });
    this.spawnAhead.set(1);
    this.sandboxRss = new client.Gauge({
      name: "tana_edge_sandbox_rss_bytes",
      help: "Resident memory of each sandbox process, as last reported",
      labelNames: ["sandbox"],
      registers,
    });
    this.storeUnavailable = new client.Counter({
      name: "tana_edge_store_unavailable_total",
      help: "Requests that met an unreachable store (served a cached contract, or failed with 503)",
      registers,
    });
    this.invalidations = new client.Counter({
      name: "tana_edge_contract_invalidations_total",
      help:
        "Cached contract rows dropped, by source (notify: a change was announced; reconnect: all, after the store came back or at start-up; revision: all, the embedded store changed)",
      labelNames: ["source"],
      registers,
    });
  }
}
