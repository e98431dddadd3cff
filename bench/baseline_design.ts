/**
 * Baseline (d): the throughput of the simplest server that keeps contract code out of the HTTP
 * process and gives every request a fresh worker, with none of tana-edge's own logic.
 *
 * A bare `Deno.serve` hands each request, as a length-prefixed JSON frame, to one of `processes`
 * children started like sandboxes (no permissions, the sandbox's V8 flags). A child spawns a
 * permissionless worker from a `blob:` URL when a request arrives, has it import and run a hello
 * module, writes the JSON bytes back and terminates it. Each child runs one request at a time and
 * the rest wait in the parent: measured on the 2-core machine, that schedule (on-demand spawns,
 * one at a time) answered the most requests per second of the variants tried (a pre-spawned
 * worker per child, several requests per child). No lookup, checks, lockdown, limits, logs or
 * metrics: what separates (d) from (a) is the HTTP process, the pipes and the scheduling; what
 * separates tana-edge from (d) is everything tana-edge does per request.
 *
 * With QUEUE, it also sheds as a server must under overload: a request that finds every child busy
 * and QUEUE requests already waiting is answered 503 with `Retry-After` at once. With QUEUE 0 it
 * admits a request only when a child is free, so what it admits waits for nothing but its own run:
 * the benchmark offers it the same 2× overload as tana-edge, and its admitted latency is what
 * spawning a worker per request costs on this machine at that load.
 *
 * With `prespawn`, each child keeps one worker spawned ahead and spawns the next as soon as a run
 * ends, as tana-edge does at light load: the floor for latency at 70 % of capacity, where
 * on-demand spawns put a whole spawn on every request.
 *
 * `deno run --allow-net --allow-run --allow-read bench/baseline_design.ts PORT PROCESSES HEAP_MB
 * [QUEUE [prespawn]]` serves until killed (QUEUE `Infinity` for no limit).
 *
 * @module
 */
import { frame, frames, HELLO, REQUEST, spawnChild } from "./_baseline.ts";

const BOOTSTRAP = `self.onmessage = async (event) => {
  const mod = await import(event.data.url);
  const body = JSON.stringify(mod.get(event.data.request));
  const bytes = new TextEncoder().encode(body);
  self.postMessage(bytes.buffer, [bytes.buffer]);
};`;

async function child(prespawn: boolean): Promise<void> {
  const blob = (code: string) => URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  const bootstrap = blob(BOOTSTRAP);
  const hello = blob(HELLO);
  const writer = Deno.stdout.writable.getWriter();
  const spawn = () =>
    new Worker(bootstrap, { type: "module", deno: { permissions: "none" } } as WorkerOptions);
  let ready = prespawn ? spawn() : null;
  for await (const { id, payload } of frames(Deno.stdin.readable)) {
    const request = JSON.parse(new TextDecoder().decode(payload));
    const worker = ready ?? spawn();
    ready = null;
    worker.onmessage = (event) => {
      writer.write(frame(id, new Uint8Array(event.data)));
      setTimeout(() => {
        worker.terminate();
        // A request that came before this turn took a worker spawned on arrival: one ahead
        // may already be waiting.
        if (prespawn && !ready) ready = spawn();
      }, 0);
    };
    worker.postMessage({ url: hello, request });
  }
  Deno.exit(0);
}

function parent(
  port: number,
  processes: number,
  heapMb: number,
  queue: number,
  prespawn: boolean,
): void {
  const children = Array.from({ length: processes }, () => {
    const proc = spawnChild(import.meta.url, heapMb, prespawn ? ["prespawn"] : []);
    const c = {
      writer: proc.stdin.getWriter(),
      answer: null as ((body: Uint8Array<ArrayBuffer>) => void) | null,
    };
    (async () => {
      for await (const { payload } of frames(proc.stdout)) {
        const answer = c.answer!;
        c.answer = null;
        answer(payload as Uint8Array<ArrayBuffer>);
        waiting.shift()?.();
      }
    })();
    return c;
  });
  const waiting: (() => void)[] = [];
  const encoder = new TextEncoder();
  let nextId = 1;
  Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    let free = children.find((c) => c.answer === null);
    if (!free && waiting.length >= queue) {
      return new Response('{"error":{"code":"overloaded"}}', {
        status: 503,
        headers: { "content-type": "application/json", "retry-after": "1" },
      });
    }
    while (!free) {
      await new Promise<void>((resolve) => waiting.push(resolve));
      free = children.find((c) => c.answer === null);
    }
    const request = { ...REQUEST, url: req.url, method: req.method };
    const { promise, resolve } = Promise.withResolvers<Uint8Array<ArrayBuffer>>();
    free.answer = resolve;
    free.writer.write(frame(nextId++, encoder.encode(JSON.stringify(request))));
    return new Response(await promise, { headers: { "content-type": "application/json" } });
  });
}

if (Deno.args[0] === "child") await child(Deno.args[1] === "prespawn");
else {
  const [port, processes, heapMb, queue] = Deno.args.map(Number);
  const prespawn = Deno.args[4] === "prespawn";
  parent(port, processes || 2, heapMb || 128, Number.isNaN(queue) ? Infinity : queue, prespawn);
}
