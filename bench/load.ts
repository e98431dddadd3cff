/**
 * A small HTTP load generator for the benchmark: closed loop (fixed concurrency) and open loop
 * (fixed offered rate), with latencies recorded in a log-linear histogram.
 *
 * The open loop never waits for a response before sending the next request, so a stalled server
 * cannot hide its queueing delay (no coordinated omission). Latency is measured from the moment
 * a request is handed to `fetch`; how late that was against the schedule (timer granularity,
 * a busy generator) is reported separately as `scheduleLag`.
 *
 * Standalone use:
 * ```sh
 * deno run --allow-net bench/load.ts open  http://127.0.0.1:8180/hello --rate 50 --duration 10
 * deno run --allow-net bench/load.ts closed http://127.0.0.1:8180/hello -c 8 --duration 10
 * ```
 *
 * @module
 */

/** Log-linear histogram of microsecond values (≈ 1.6 % resolution, exact below 128 µs). */
export class Histogram {
  #counts = new Float64Array(128 + 26 * 64);
  count = 0;
  sum = 0;
  min = Infinity;
  max = 0;

  /** @param us a value in microseconds */
  record(us: number): void {
    const v = Math.max(0, Math.round(us));
    this.#counts[Histogram.#index(v)]++;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  static #index(v: number): number {
    if (v < 128) return v;
    const shift = 31 - Math.clz32(Math.min(v, 2 ** 31 - 1)) - 6;
    return 128 + (shift - 1) * 64 + ((v >>> shift) - 64);
  }

  static #middle(index: number): number {
    if (index < 128) return index;
    const shift = Math.floor((index - 128) / 64) + 1;
    const low = (((index - 128) % 64) + 64) * 2 ** shift;
    return low + 2 ** (shift - 1);
  }

  /** @returns the value (µs) at percentile `p` (0–100) */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i];
      if (seen >= rank) return Math.min(Math.max(Histogram.#middle(i), this.min), this.max);
    }
    return this.max;
  }

  /** Summary in milliseconds. */
  summary(): LatencySummary {
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      count: this.count,
      meanMs: this.count ? ms(this.sum / this.count) : NaN,
      p50Ms: ms(this.percentile(50)),
      p90Ms: ms(this.percentile(90)),
      p99Ms: ms(this.percentile(99)),
      p999Ms: ms(this.percentile(99.9)),
      maxMs: this.count ? ms(this.max) : NaN,
    };
  }
}

/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** What one load run measured. */
export interface LoadResult {
  tool: string;
  mode: "closed" | "open";
  concurrency?: number;
  offeredRps?: number;
  durationS: number;
  requests: number;
  /** Completed 2xx responses per second. */
  throughputRps: number;
  /** Latency of 2xx responses. */
  latency: LatencySummary;
  /** Latency of every answered request, whatever its status. */
  latencyAll?: LatencySummary;
  /** Responses by HTTP status. */
  statuses: Record<string, number>;
  /** Non-2xx responses plus transport errors. */
  errors: number;
  /** Transport errors (connection refused/reset, timeouts). */
  transportErrors: number;
  /** 503 responses that carried `Retry-After`. */
  retryAfter503: number;
  /** Most requests outstanding at once (open loop). */
  maxOutstanding?: number;
  /** How late requests were sent against the schedule (open loop). */
  scheduleLag?: LatencySummary;
  /** Latency of 2xx responses to the requests scheduled after `settleMs` (open loop). */
  settled?: { afterMs: number; latency: LatencySummary };
}

/** One request shape. */
export interface Target {
  url: string;
  method?: "GET" | "POST";
  body?: string;
  headers?: Record<string, string>;
}

/** What describes a run besides its outcomes. */
export type RunShape = Pick<
  LoadResult,
  | "tool"
  | "mode"
  | "durationS"
  | "concurrency"
  | "offeredRps"
  | "maxOutstanding"
  | "scheduleLag"
  | "settled"
>;

/** Latencies and statuses of requests; one may be shared by several load runs to pool them. */
export class Recorder {
  ok = new Histogram();
  all = new Histogram();
  statuses: Record<string, number> = {};
  transportErrors = 0;
  retryAfter503 = 0;

  /** Sends one request and records its outcome, here and in `also`. */
  async fire(target: Target, client: Deno.HttpClient, timeoutMs: number, also: Recorder[] = []) {
    const startedAt = performance.now();
    try {
      const res = await fetch(target.url, {
        method: target.method ?? "GET",
        body: target.body,
        headers: target.headers,
        client,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer();
      const us = (performance.now() - startedAt) * 1000;
      const retryAfter = res.headers.has("retry-after");
      for (const r of [this, ...also]) r.#record(res.status, us, retryAfter);
    } catch {
      for (const r of [this, ...also]) r.transportErrors++;
    }
  }

  #record(status: number, us: number, retryAfter: boolean) {
    this.all.record(us);
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    if (status >= 200 && status < 300) this.ok.record(us);
    else if (status === 503 && retryAfter) this.retryAfter503++;
  }

  /** Summarises what was recorded, for a run of the given shape. */
  result(base: RunShape): LoadResult {
    const durationS = base.durationS;
    const non2xx = Object.entries(this.statuses)
      .filter(([s]) => Number(s) < 200 || Number(s) >= 300)
      .reduce((n, [, c]) => n + c, 0);
    return {
      ...base,
      requests: this.all.count + this.transportErrors,
      throughputRps: Math.round((this.ok.count / durationS) * 10) / 10,
      latency: this.ok.summary(),
      latencyAll: this.all.summary(),
      statuses: this.statuses,
      errors: non2xx + this.transportErrors,
      transportErrors: this.transportErrors,
      retryAfter503: this.retryAfter503,
    };
  }
}

/**
 * Closed loop: `concurrency` clients each send the next request when the previous one ends.
 *
 * @param target what to request
 * @param opts concurrency, duration, optional total request budget
 */
export async function closedLoop(
  target: Target,
  opts: { concurrency: number; durationMs: number; maxRequests?: number; timeoutMs?: number },
): Promise<LoadResult> {
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: opts.concurrency });
  const rec = new Recorder();
  const start = performance.now();
  const deadline = start + opts.durationMs;
  let issued = 0;
  const budget = opts.maxRequests ?? Infinity;
  const loop = async () => {
    while (performance.now() < deadline && issued < budget) {
      issued++;
      await rec.fire(target, client, opts.timeoutMs ?? 10_000);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, loop));
  const durationS = (performance.now() - start) / 1000;
  client.close();
  return rec.result({
    tool: "bench/load.ts",
    mode: "closed",
    concurrency: opts.concurrency,
    durationS: Math.round(durationS * 1000) / 1000,
  });
}

/**
 * Open loop: requests are started at a fixed rate whatever the server does; latency counts from
 * the scheduled start.
 *
 * @param target what to request
 * @param opts offered rate (requests per second) and duration; `pool`, a recorder that also gets
 *   every outcome (to pool several runs); `settleMs`, to also report the latency of the requests
 *   scheduled after that long (what a load that has lasted looks like, without its first moments)
 */
export async function openLoop(
  target: Target,
  opts: {
    rate: number;
    durationMs: number;
    timeoutMs?: number;
    pool?: Recorder;
    settleMs?: number;
  },
): Promise<LoadResult> {
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 1024 });
  const rec = new Recorder();
  const settled = new Recorder();
  const settleMs = opts.settleMs ?? Infinity;
  const lag = new Histogram();
  const interval = 1000 / opts.rate;
  const total = Math.max(1, Math.floor((opts.durationMs / 1000) * opts.rate));
  const inflight = new Set<Promise<void>>();
  let maxOutstanding = 0;
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const now = performance.now();
    while (sent < total && start + sent * interval <= now) {
      lag.record((performance.now() - (start + sent * interval)) * 1000);
      const also = opts.pool ? [opts.pool] : [];
      if (sent * interval >= settleMs) also.push(settled);
      const p = rec.fire(target, client, opts.timeoutMs ?? 10_000, also);
      inflight.add(p);
      p.finally(() => inflight.delete(p));
      sent++;
    }
    if (inflight.size > maxOutstanding) maxOutstanding = inflight.size;
    const next = start + sent * interval;
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(next - performance.now(), 50))));
  }
  const offeredS = (performance.now() - start) / 1000;
  await Promise.all(inflight);
  client.close();
  return rec.result({
    tool: "bench/load.ts",
    mode: "open",
    offeredRps: opts.rate,
    durationS: Math.round(offeredS * 1000) / 1000,
    maxOutstanding,
    scheduleLag: lag.summary(),
    settled: settleMs < Infinity ? { afterMs: settleMs, latency: settled.ok.summary() } : undefined,
  });
}

if (import.meta.main) {
  const [mode, url, ...rest] = Deno.args;
  const flag = (names: string[], def: number) => {
    const i = rest.findIndex((a) => names.includes(a));
    return i === -1 ? def : Number(rest[i + 1]);
  };
  const durationMs = flag(["--duration", "-d"], 10) * 1000;
  if (!url || (mode !== "open" && mode !== "closed")) {
    console.error("usage: load.ts open|closed URL [--rate R] [-c N] [--duration S]");
    Deno.exit(2);
  }
  const result = mode === "open"
    ? await openLoop({ url }, { rate: flag(["--rate", "-r"], 50), durationMs })
    : await closedLoop({ url }, { concurrency: flag(["-c", "--concurrency"], 8), durationMs });
  console.log(JSON.stringify(result, null, 2));
}
