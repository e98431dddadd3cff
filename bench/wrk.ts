/**
 * Closed-loop runs with `wrk` (when installed), reported in the same shape as `load.ts`.
 *
 * @module
 */
import type { LoadResult, Target } from "./load.ts";

const SCRIPT = new URL("./wrk/report.lua", import.meta.url).pathname;

/** The installed wrk's version line, or `null` when wrk is not on PATH. */
export async function wrkVersion(): Promise<string | null> {
  try {
    const out = await new Deno.Command("wrk", { args: ["-v"], stdout: "piped", stderr: "piped" })
      .output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return text.split("\n")[0].trim() || "wrk";
  } catch {
    return null;
  }
}

/**
 * Runs wrk for `durationS` seconds at `concurrency` connections.
 *
 * @param target URL, method and body (the body is written to a temporary file for the script)
 * @param opts concurrency and duration
 */
export async function wrkRun(
  target: Target,
  opts: { concurrency: number; durationS: number },
): Promise<LoadResult> {
  const threads = Math.min(2, opts.concurrency);
  const args = [
    `-t${threads}`,
    `-c${opts.concurrency}`,
    `-d${opts.durationS}s`,
    "--timeout",
    "10s",
    "-s",
    SCRIPT,
    target.url,
    "--",
    target.method ?? "GET",
  ];
  let bodyFile: string | null = null;
  if (target.body !== undefined) {
    bodyFile = await Deno.makeTempFile({ prefix: "tana-bench-body-" });
    await Deno.writeTextFile(bodyFile, target.body);
    args.push(bodyFile);
  }
  try {
    const out = await new Deno.Command("wrk", { args, stdout: "piped", stderr: "piped" }).output();
    const text = new TextDecoder().decode(out.stdout);
    const line = text.split("\n").find((l) => l.startsWith("WRKJSON "));
    if (!out.success || !line) {
      throw new Error(`wrk failed: ${text}\n${new TextDecoder().decode(out.stderr)}`);
    }
    const r = JSON.parse(line.slice(8));
    const durationS = r.durationUs / 1e6;
    const statuses: Record<string, number> = r.statuses;
    let ok = 0;
    let non2xx = 0;
    for (const [s, n] of Object.entries(statuses)) {
      if (Number(s) >= 200 && Number(s) < 300) ok += n;
      else non2xx += n;
    }
    const transport = r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout;
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      tool: "wrk",
      mode: "closed",
      concurrency: opts.concurrency,
      durationS: Math.round(durationS * 1000) / 1000,
      requests: r.requests,
      throughputRps: Math.round((ok / durationS) * 10) / 10,
      // wrk's histogram covers every response (2xx or not).
      latency: {
        count: r.requests,
        meanMs: ms(r.latencyUs.mean),
        p50Ms: ms(r.latencyUs.p50),
        p90Ms: ms(r.latencyUs.p90),
        p99Ms: ms(r.latencyUs.p99),
        p999Ms: ms(r.latencyUs.p999),
        maxMs: ms(r.latencyUs.max),
      },
      statuses,
      errors: non2xx + transport,
      transportErrors: transport,
      retryAfter503: r.retryAfter503,
    };
  } finally {
    if (bodyFile) await Deno.remove(bodyFile).catch(() => {});
  }
}
