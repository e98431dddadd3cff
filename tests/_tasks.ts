/**
 * Test and benchmark helper: the command lines of deno.json's tasks, so that tests and the
 * benchmark start the server as `deno task start` does (its permissions and V8 flags) instead of
 * keeping copies of that line.
 *
 * @module
 */

const DENO_JSON = new URL("../deno.json", import.meta.url);

/**
 * The arguments `deno task <name>` passes to `deno`.
 *
 * @param name a task in deno.json whose command is a single `deno …` invocation
 * @returns its arguments after `deno`, as written (paths relative to the project root)
 *
 * @example
 * ```ts
 * import { taskArgs } from "./_tasks.ts";
 * console.assert(taskArgs("start")[0] === "run");
 * ```
 */
export function taskArgs(name: string): string[] {
  const { tasks } = JSON.parse(Deno.readTextFileSync(DENO_JSON));
  const command = tasks?.[name];
  if (typeof command !== "string") throw new Error(`deno.json has no task "${name}"`);
  // Our tasks are plain argument lists: no quoting, no `&&`, no environment assignments.
  if (/["'&|;$]/.test(command)) throw new Error(`deno.json: task "${name}" is not a plain command`);
  const [deno, ...args] = command.trim().split(/\s+/);
  if (deno !== "deno") throw new Error(`deno.json: task "${name}" does not run deno`);
  return args;
}
