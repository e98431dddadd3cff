/**
 * The command line of a sandbox process under `deno run`. It imports nothing, so a process with
 * no permissions and no config (the benchmark's baselines) can use it too.
 *
 * @module
 */

/**
 * The V8 flags of a sandbox process: no code generation from strings, a bounded heap, no
 * background Turbofan thread, no Sparkplug, and a young generation large enough for a worker's
 * whole life. A contract's worker lives for milliseconds and is almost never optimised, yet each
 * isolate's concurrent-compilation dispatcher costs at start and teardown: without it a sandbox
 * spawns 10–15 % more workers per second of CPU. Sparkplug, V8's baseline compiler, compiled
 * functions that a worker runs only a few times (the bootstrap's, and Deno's own for messages and
 * encoding): without it a worker serving hello executes 3.5 % fewer instructions (in a harness
 * that spawned workers with the bootstrap alone, its extra cost over a bare worker's dropped from
 * 3.0 M to 0.8 M), and code that runs long enough still reaches Maglev and Turbofan (callgrind and
 * timings in bench/README.md). And with V8's default 1 MB semi-space, a warm worker's start,
 * warm-up and lockdown filled it just before the request came: its one scavenge (0.7–2 ms) landed
 * on the request, inside the contract's import. With 2 MB a worker that serves hello never
 * collects garbage (bench/README.md).
 *
 * @param heapMb `SANDBOX_HEAP_MB`
 * @returns the value of `--v8-flags`
 */
export function sandboxV8Flags(heapMb: number): string {
  return [
    "--disallow-code-generation-from-strings",
    `--max-old-space-size=${heapMb}`,
    "--no-concurrent-recompilation",
    "--no-sparkplug",
    "--min-semi-space-size=2",
  ].join(",");
}

/**
 * `deno` arguments that run `script` as a sandbox process runs: no permission flag at all,
 * nothing fetched, no config or lock file, and the sandbox's V8 flags. The benchmark's baselines
 * start their processes with the same arguments.
 *
 * @param heapMb `SANDBOX_HEAP_MB`
 * @param script URL or path of the module to run
 * @param args arguments for the module
 * @returns the argument list for `Deno.Command`
 *
 * @example
 * ```ts
 * import { sandboxRunArgs } from "./command.ts";
 * console.assert(!sandboxRunArgs(128, "process.ts").some((a) => a.startsWith("--allow")));
 * ```
 */
export function sandboxRunArgs(heapMb: number, script: string, args: string[] = []): string[] {
  return [
    "run",
    "--no-prompt",
    "--cached-only",
    "--no-config",
    "--no-lock",
    "--unstable-worker-options",
    `--v8-flags=${sandboxV8Flags(heapMb)}`,
    script,
    ...args,
  ];
}
