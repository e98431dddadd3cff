/**
 * Baseline (c): the latency floor of running each request in a fresh worker outside the HTTP
 * process, with none of tana-edge's own logic.
 *
 * Run with permissions to spawn a child, it starts itself again as that child with **no
 * permissions** and the sandbox's V8 flags, as the server starts a sandbox (`src/sandbox/command.ts`). The child keeps one
 * pre-spawned, warmed-up worker. For each request the parent writes a length-prefixed JSON frame
 * to the child's stdin; the child posts it to the worker, which imports a hello module, runs it
 * and posts the JSON bytes back; the child writes them to stdout, terminates the worker and
 * spawns the next one. The parent times frame written → frame read, `count` requests `gapMs`
 * apart (light load), and prints one JSON line: `{ "count", "p50Ms", "p90Ms", "p99Ms" }`.
 *
 * `deno run --allow-run --allow-read bench/baseline_roundtrip.ts COUNT GAP_MS SANDBOX_HEAP_MB`
 *
 * @module
 */
import { frame, frames, HELLO, REQUEST, spawnChild } from "./_baseline.ts";

const BOOTSTRAP = `let warmed = false;
self.onmessage = async (event) => {
  const mod = await import(event.data.url);
  const body = JSON.stringify(mod.get(event.data.request));
  const bytes = new TextEncoder().encode(body);
  // The first run is the warm-up: each path a request takes (import, serialise, a transferred
  // message) is compiled on first use in a fresh isolate.
  self.postMessage({ t: warmed ? "result" : "ready", body: bytes.buffer }, [bytes.buffer]);
  warmed = true;
};`;

async function child(): Promise<void> {
  const blob = (code: string) => URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  const bootstrap = blob(BOOTSTRAP);
  const hello = blob(HELLO);
  const warmUp = blob(HELLO.replace("Hello", "Warm"));
  const spawn = () => {
    const worker = new Worker(bootstrap, {
      type: "module",
      deno: { permissions: "none" },
    } as WorkerOptions);
    const ready = new Promise<void>((resolve) => worker.onmessage = () => resolve());
    worker.postMessage({ url: warmUp, request: REQUEST });
    return { worker, ready };
  };
  let next = spawn();
  const writer = Deno.stdout.writable.getWriter();
  for await (const { payload } of frames(Deno.stdin.readable)) {
    const { worker, ready } = next;
    await ready;
    const request = JSON.parse(new TextDecoder().decode(payload));
    const body = await new Promise<ArrayBuffer>((resolve) => {
      worker.onmessage = (event) => resolve(event.data.body);
      worker.postMessage({ url: hello, request });
    });
    await writer.write(frame(0, new Uint8Array(body)));
    worker.terminate();
    next = spawn();
  }
  Deno.exit(0); // stdin closed; the next worker is not needed
}

async function parent(count: number, gapMs: number, heapMb: number): Promise<void> {
  const proc = spawnChild(import.meta.url, heapMb);
  const writer = proc.stdin.getWriter();
  const replies = frames(proc.stdout);
  const payload = new TextEncoder().encode(JSON.stringify(REQUEST));
  const times: number[] = [];
  // Two unmeasured requests first: the child's own first paths are not the floor.
  for (let i = 0; i < count + 2; i++) {
    await new Promise((r) => setTimeout(r, gapMs));
    const started = performance.now();
    await writer.write(frame(i, payload));
    const reply = await replies.next();
    if (reply.done) throw new Error("child exited");
    if (i >= 2) times.push(performance.now() - started);
  }
  await writer.close();
  await proc.status;
  times.sort((a, b) => a - b);
  const at = (p: number) =>
    Math.round(times[Math.min(times.length - 1, Math.ceil(p * times.length) - 1)] * 1000) / 1000;
  console.log(JSON.stringify({ count, p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99) }));
}

if (Deno.args[0] === "child") await child();
else {
  const [count, gapMs, heapMb] = Deno.args.map(Number);
  await parent(count || 50, gapMs || 100, heapMb || 128);
}
