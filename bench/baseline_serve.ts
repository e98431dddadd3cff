/**
 * Baseline (b): a bare `Deno.serve` answering the same JSON as the hello contract.
 *
 * `deno run --allow-net bench/baseline_serve.ts PORT`
 *
 * @module
 */
const port = Number(Deno.args[0] ?? 8181);
Deno.serve(
  { port, hostname: "127.0.0.1", onListen: () => console.log("listening") },
  () => Response.json({ message: "Hello from Tana!", contract: "hello", timestamp: Date.now() }),
);
