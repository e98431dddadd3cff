/**
 * tana-edge: runs the read handlers of Tana smart contracts over HTTP.
 *
 * `main.ts [serve]` starts the server; `main.ts sandbox` is the entry of a sandbox process and
 * loads nothing but the sandbox code, so that process holds no server code or secrets. See
 * `src/cli.ts` for every command.
 *
 * @module
 */
if (Deno.args[0] === "sandbox") {
  const { runSandbox } = await import("./src/sandbox/process.ts");
  await runSandbox();
} else {
  const { main } = await import("./src/cli.ts");
  Deno.exit(await main(Deno.args));
}
