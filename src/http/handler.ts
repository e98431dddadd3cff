/**
 * The HTTP handler: routes `/health`, `/ready`, `/metrics` and `GET|POST /{contractId}[/*path]`.
 *
 * @module
 */
import type { Config } from "../config.ts";
import type { ContractLoader } from "../contracts/loader.ts";
import { EdgeError, StoreUnavailableError } from "../errors.ts";
import { type CallContext, HostCallError, HostCapabilities } from "../host/capabilities.ts";
import { callKey, type PlannedCall, ReadAhead } from "../host/readahead.ts";
import { logger } from "../log.ts";
import type { RunJob, Supervisor } from "../sandbox/supervisor.ts";
import type { Store } from "../store/types.ts";
import type { Metrics } from "./metrics.ts";
import { buildTanaRequest, parseContractPath, readJsonBody, requestIdOf } from "./request.ts";
import { errorResponse, json } from "./responses.ts";

const accessLog = logger("http");
const contractLog = logger("contract");
const hostLog = logger("host");
const KNOWN_METHODS = new Set(["GET", "POST", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"]);

/** Response headers a contract may not set. */
const RESERVED_HEADERS = new Set([
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "x-request-id",
]);
const READY_TIMEOUT_MS = 1000;

/** What the handler needs. */
export interface HandlerDeps {
  /** The server configuration. */
  config: Config;
  /** Where contracts and chain data are read. */
  store: Store;
  /** Loads and caches contracts. */
  loader: ContractLoader;
  /** Runs contracts in sandboxes. */
  supervisor: Supervisor;
  /** Where counters go. */
  metrics: Metrics;
}

/**
 * Creates the `Deno.serve` handler.
 *
 * @param deps the server's parts
 * @returns a handler for `Deno.serve`
 */
export function createHandler(deps: HandlerDeps): Deno.ServeHandler<Deno.NetAddr> {
  const { config, store, loader, supervisor, metrics } = deps;
  const host = new HostCapabilities(store, config);
  const readAheads = new ReadAhead(config.readAheadMax);

  const cors = (headers: Headers) => {
    if (!config.corsOrigin) return;
    headers.set("access-control-allow-origin", config.corsOrigin);
    headers.set("access-control-expose-headers", "x-request-id, retry-after");
  };

  async function ready(): Promise<Response> {
    const capacity = supervisor.capacity();
    let storeOk = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        store.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("timeout")), READY_TIMEOUT_MS);
        }),
      ]);
    } catch {
      storeOk = false;
    } finally {
      clearTimeout(timer);
    }
    const ok = storeOk && capacity.ready > 0;
    return json({
      status: ok ? "ready" : "unready",
      store: { kind: store.kind, reachable: storeOk },
      sandboxes: capacity,
    }, ok ? 200 : 503);
  }

  /** Records what a run read, and counts the read-ahead answers it used and did not use. */
  function learnReads(
    plan: string,
    shipped: Record<string, unknown>,
    made: PlannedCall[],
    used: string[],
  ): void {
    readAheads.record(plan, made, used);
    const shippedCount = Object.keys(shipped).length;
    if (shippedCount === 0) return;
    const usedCount = used.filter((key) => Object.hasOwn(shipped, key)).length;
    metrics.readAhead.inc({ result: "used" }, usedCount);
    metrics.readAhead.inc({ result: "unused" }, shippedCount - usedCount);
  }

  async function runContract(
    req: Request,
    url: URL,
    ip: string,
    requestId: string,
    logFields: Record<string, unknown>,
  ): Promise<Response> {
    const parts = parseContractPath(url.pathname);
    logFields.contractId = parts.id;
    if (req.method !== "GET" && req.method !== "POST") {
      throw new EdgeError(405, "method_not_allowed", `Method ${req.method} is not allowed`, {
        allow: "GET, POST, OPTIONS",
      });
    }
    // Shed before any store read: under a retry storm a refused request must cost next to nothing.
    const overloaded = supervisor.overloaded();
    if (overloaded) throw overloaded;
    const contract = await loader.load(parts.id);
    logFields.contractId = contract.row.id;
    const handler = contract.handlers[req.method];
    if (!handler) {
      const allow = Object.keys(contract.handlers).filter((m) =>
        contract.handlers[m as "GET" | "POST"]
      );
      throw new EdgeError(
        405,
        "method_not_allowed",
        `Contract "${contract.row.id}" has no ${req.method} handler`,
        { allow: [...allow, "OPTIONS"].join(", ") },
      );
    }
    const body = req.method === "POST" ? await readJsonBody(req, config.maxBodyBytes) : null;
    // A request that will be shed must not cost the store its reads first.
    const refused = supervisor.refusal(contract.row.id);
    if (refused) throw refused;
    const block = contract.needsBlock ? await store.latestBlock() : null;
    const ctx: CallContext = { contract: contract.row, fetches: 0, storeFailed: false };
    const plan = `${contract.row.id} ${contract.row.codeHash} ${req.method}`;
    const readAhead = await readAheads.perform(host, ctx, plan);
    const made: PlannedCall[] = [];
    const job: RunJob = {
      contractId: contract.row.id,
      requestId,
      hash: contract.row.codeHash,
      code: contract.module.code,
      links: contract.module.links,
      handler,
      request: buildTanaRequest(req, url, parts, contract.row, body, ip),
      block,
      readAhead,
      onCall: async (op, args) => {
        let answer;
        try {
          answer = await host.handle(ctx, op, args);
        } catch (error) {
          if (error instanceof HostCallError) throw error;
          // A driver or runtime error may name tables, roles or paths: the log gets it, the
          // contract (and so the client) only learns that the call failed.
          hostLog.error("Host call {op} failed: {error}", {
            op,
            error: error instanceof Error ? error.stack ?? error.message : String(error),
            contractId: contract.row.id,
            requestId,
          });
          throw new HostCallError("Error", `Host call ${op} failed`);
        }
        if (readAheads.learnable(op, answer)) made.push({ key: callKey(op, args), op, args });
        return answer;
      },
      onLog: (level, text) => {
        const fields = { contractId: contract.row.id, requestId, text };
        if (level === "warn") contractLog.warn("{text}", fields);
        else if (level === "error") contractLog.error("{text}", fields);
        else if (level === "debug") contractLog.debug("{text}", fields);
        else contractLog.info("{text}", fields);
      },
    };
    let outcome;
    try {
      outcome = await supervisor.run(job);
    } catch (error) {
      // A contract that failed because the store was away gets the store's answer, not a 500.
      if (ctx.storeFailed && error instanceof EdgeError && error.code === "contract_error") {
        throw new StoreUnavailableError(error);
      }
      throw error;
    } finally {
      logFields.sandbox = job.sandbox;
    }
    learnReads(plan, readAhead, made, outcome.readAheadUsed);
    const headers = new Headers();
    try {
      for (const [name, value] of Object.entries(outcome.headers ?? {})) {
        if (!RESERVED_HEADERS.has(name.toLowerCase())) headers.set(name, String(value));
      }
    } catch {
      if (outcome.body instanceof ReadableStream) await outcome.body.cancel();
      throw new EdgeError(500, "invalid_response", "Contract returned an invalid header");
    }
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    // These statuses cannot carry a body; a contract may still return one.
    const nullBody = outcome.status === 204 || outcome.status === 205 || outcome.status === 304;
    if (nullBody && outcome.body instanceof ReadableStream) await outcome.body.cancel();
    return new Response(nullBody ? null : outcome.body, { status: outcome.status, headers });
  }

  return async (req, info) => {
    const started = performance.now();
    const requestId = requestIdOf(req);
    const url = new URL(req.url);
    const logFields: Record<string, unknown> = {
      requestId,
      method: req.method,
      path: url.pathname,
    };
    let route = "contract";
    let response: Response;
    try {
      if (req.method === "OPTIONS") {
        route = "preflight";
        response = new Response(null, {
          status: 204,
          headers: {
            "access-control-allow-methods": "GET, POST, OPTIONS",
            "access-control-allow-headers": req.headers.get("access-control-request-headers") ??
              "content-type",
            "access-control-max-age": "86400",
          },
        });
      } else if (url.pathname === "/health") {
        route = "health";
        response = json({ status: "ok" });
      } else if (url.pathname === "/ready") {
        route = "ready";
        response = await ready();
      } else if (url.pathname === "/metrics") {
        route = "metrics";
        response = new Response(await metrics.registry.metrics(), {
          headers: { "content-type": metrics.registry.contentType },
        });
      } else if (url.pathname === "/" || url.pathname === "") {
        route = "root";
        throw new EdgeError(404, "not_found", "Request /{contractId} to run a contract");
      } else {
        response = await runContract(req, url, info.remoteAddr.hostname, requestId, logFields);
      }
    } catch (error) {
      if (!(error instanceof EdgeError)) {
        accessLog.error("Unhandled error: {error}", {
          ...logFields,
          error: String(error),
          stack: (error as Error)?.stack,
        });
      }
      if (error instanceof EdgeError) logFields.code = error.code;
      logFields.error = error instanceof Error ? error.message : String(error);
      if (error instanceof StoreUnavailableError) metrics.storeUnavailable.inc();
      response = errorResponse(error, requestId);
    }
    response.headers.set("x-request-id", requestId);
    cors(response.headers);
    const seconds = (performance.now() - started) / 1000;
    // The method is client-chosen: any other token would add a label series for good.
    const method = KNOWN_METHODS.has(req.method) ? req.method : "other";
    metrics.requests.inc({ method, route, status: String(response.status) });
    metrics.duration.observe({ route }, seconds);
    if (route === "contract") {
      // Recorded in the next turn, once the response is on its way (0.1–0.2 ms at light load).
      // Metrics stay above: a client that reads /metrics right after its response must see it.
      const status = response.status;
      setTimeout(() => {
        accessLog.info("{method} {path} {status} {durationMs} ms", {
          ...logFields,
          status,
          durationMs: Math.round(seconds * 100_000) / 100,
        });
      }, 0);
    }
    return response;
  };
}
