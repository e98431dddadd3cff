/**
 * Baseline (a): the raw per-request isolation ceiling of one process.
 *
 * Run with **no permissions** and the sandbox's V8 flags, exactly like a sandbox process. In a
 * tight loop it spawns a permissionless Web Worker from a `blob:` URL, has it import and run a
 * hello module, and terminates it; `inflight` loops run at once (1 = strictly sequential).
 * Prints one JSON line: `{ "spawns", "seconds", "perSecond" }`.
 *
 * `deno run --no-prompt --cached-only --no-config --no-lock --unstable-worker-options
 *   --v8-flags=--disallow-code-generation-from-strings,--max-old-space-size=128,--no-concurrent-recompilation,--min-semi-space-size=2
 *   bench/baseline_spawn.ts DURATION_MS WARMUP_MS INFLIGHT`
 *
 * @module
 */
import { HELLO } from "./_baseline.ts";

const [durationMs, warmupMs, inflight] = Deno.args.map(Number);

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
console.log(JSON.stringify({ spawns, seconds, perSecond: spawns / seconds }));
