/**
 * Baseline (a): the raw per-request isolation ceiling of one process.
 *
 * Run with **no permissions** and the sandbox's V8 flags, exactly like a sandbox process. In a
 * tight loop it spawns a permissionless Web Worker from a `blob:` URL, has it import and run a
 * hello module, and terminates it; `inflight` loops run at once (1 = strictly sequential).
 * Prints one JSON line: `{ "spawns", "seconds", "perSecond" }`. With `serve`, it stays up and
 * measures once per stdin line `DURATION_MS WARMUP_MS INFLIGHT`, printing a line each time.
 *
 * `deno run --no-prompt --cached-only --no-config --no-lock --unstable-worker-options
 *   --v8-flags=--disallow-code-generation-from-strings,--max-old-space-size=128,--no-concurrent-recompilation,--no-sparkplug,--min-semi-space-size=2
 *   bench/baseline_spawn.ts DURATION_MS WARMUP_MS INFLIGHT`
 *
 * @module
 */
import { HELLO } from "./_baseline.ts";

const hello = URL.createObjectURL(new Blob([HELLO], { type: "text/javascript" }));
const bootstrap = URL.createObjectURL(
  new Blob([
    `self.onmessage = async (event) => {
      const mod = await import(event.data);
      const body = JSON.stringify(mod.get({ tana: { contract: { id: "hello" } } }));
      const bytes = new TextEncoder().encode(body);
      self.postMessage(bytes.buffer, [bytes.buffer]);
    };`,
  ], { type: "text/javascript" }),
);

function once(): Promise<void> {
  const worker = new Worker(bootstrap, {
    type: "module",
    deno: { permissions: "none" },
  } as WorkerOptions);
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  worker.onmessage = () => resolve();
  worker.onerror = (e) => {
    e.preventDefault();
    reject(new Error(e.message));
  };
  worker.postMessage(hello);
  return promise.finally(() => worker.terminate());
}

/** Spawns for `warmupMs`, then counts spawns for `durationMs`; `inflight` loops at once. */
async function measure(durationMs: number, warmupMs: number, inflight: number) {
  const warmupEnd = performance.now() + warmupMs;
  let counting = false;
  let spawns = 0;
  let countStart = 0;
  let end = Infinity;
  async function loop() {
    while (performance.now() < end) {
      await once();
      if (!counting && performance.now() >= warmupEnd) {
        counting = true;
        countStart = performance.now();
        end = countStart + durationMs;
      } else if (counting) spawns++;
    }
  }
  await Promise.all(Array.from({ length: inflight || 1 }, loop));
  const seconds = (performance.now() - countStart) / 1000;
  return { spawns, seconds, perSecond: spawns / seconds };
}

if (Deno.args[0] === "serve") {
  // One measurement per line of stdin ("DURATION_MS WARMUP_MS INFLIGHT"), one JSON line each:
  // the benchmark's interleaved cycles reuse the same processes instead of starting new ones.
  const decoder = new TextDecoderStream();
  let buffer = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(decoder)) {
    buffer += chunk;
    let at;
    while ((at = buffer.indexOf("\n")) !== -1) {
      const [durationMs, warmupMs, inflight] = buffer.slice(0, at).split(" ").map(Number);
      buffer = buffer.slice(at + 1);
      console.log(JSON.stringify(await measure(durationMs, warmupMs, inflight)));
    }
  }
} else {
  const [durationMs, warmupMs, inflight] = Deno.args.map(Number);
  console.log(JSON.stringify(await measure(durationMs, warmupMs, inflight)));
}
