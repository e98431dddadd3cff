/**
 * How the benchmark's baselines start a process the way the server starts a sandbox: no
 * permissions, nothing fetched, no config or lock file, and the sandbox's V8 flags.
 *
 * @module
 */

/** The V8 flags of a sandbox process with the default `SANDBOX_HEAP_MB`. */
export const SANDBOX_V8_FLAGS = "--disallow-code-generation-from-strings,--max-old-space-size=128";

/**
 * `deno` arguments that run `script` like a sandbox process.
 *
 * @param script path or URL of the module to run
 * @param args arguments for the module
 * @returns the argument list for `Deno.Command`
 */
export function sandboxLikeArgs(script: string, args: string[] = []): string[] {
  return [
    "run",
    "--no-prompt",
    "--cached-only",
    "--no-config",
    "--no-lock",
    "--unstable-worker-options",
    `--v8-flags=${SANDBOX_V8_FLAGS}`,
    script,
    ...args,
  ];
}
