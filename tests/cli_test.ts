/**
 * The command line as a user runs it: `serve` with no configuration, `contracts deploy|list`,
 * `migrate`, `dev` redeploying on change, and configuration errors.
 */
import assert from "node:assert/strict";
import { taskArgs } from "./_tasks.ts";
import { freePort } from "./_net.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
// `deno task start` as written in deno.json, with main.ts by absolute path and no subcommand.
const START = taskArgs("start");
assert.deepEqual(START.slice(-2), ["main.ts", "serve"]);
const RUN_FLAGS = [...START.slice(0, -2), MAIN];

async function cli(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), { args: [...RUN_FLAGS, ...args], env })
    .output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** Starts a long-running command, collecting its stdout, until `stop()`. */
function start(args: string[], env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...RUN_FLAGS, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const decoder = new TextDecoder();
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  const done = Promise.all([collect(child.stdout), collect(child.stderr)]);
  return {
    pid: child.pid,
    output: () => output,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await done;
    },
  };
}

async function until<T>(ms: number, fn: () => Promise<T | undefined>): Promise<T> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Nothing within ${ms} ms`);
}

const getJson = async (url: string) => {
  const res = await fetch(url);
  return res.ok ? await res.json() : (await res.body?.cancel(), undefined);
};

Deno.test("serve with no configuration seeds the embedded store and logs where it listens", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "tana-edge-cli-" });
  const port = freePort();
  const server = start(["serve"], {
    PORT: String(port),
    DATA_DIR: dataDir,
    SANDBOX_PROCESSES: "1",
  });
  try {
    const hello = await until(30_000, () => getJson(`http://127.0.0.1:${port}/hello`));
    assert.equal(hello.message, "Hello from Tana!");
    const counter = await getJson(`http://127.0.0.1:${port}/counter`);
    assert.ok(counter, "the seeded counter example answers");
  } finally {
    await server.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
  // Log records are written in batches off the request path; none may be lost at exit.
  const log = server.output();
  assert.match(log, /tana-edge listening on .*:\d+.*sqlite/);
  assert.match(log, /Contracts: .*hello/);
  const access = log.split("\n").filter((line) => line.includes('"logger":"tana-edge.http"'));
  assert.ok(access.some((line) => line.includes('"path":"/counter"')), "the last access line");
  assert.ok(access.every((line) => JSON.parse(line).properties.requestId), "structured JSON");
  assert.match(log, /Shutting down/);
  assert.match(log, /"Stopped"/, "the line logged just before exit");
});

Deno.test("a stop signal to the whole process group drains the request in flight", async () => {
  // Ctrl-C, `timeout` and systemd signal every process of the group: the sandboxes too.
  const dataDir = await Deno.makeTempDir({ prefix: "tana-edge-cli-" });
  const env = { DATA_DIR: dataDir };
  const file = `${dataDir}/slow.ts`;
  await Deno.writeTextFile(
    file,
    `export async function get() { await new Promise((r) => setTimeout(r, 800)); return { slow: true }; }`,
  );
  assert.equal((await cli(["migrate"], env)).code, 0);
  const deployed = await cli(["contracts", "deploy", file], env);
  assert.equal(deployed.code, 0, deployed.stderr);
  const port = freePort();
  const server = start(["serve"], { ...env, PORT: String(port), SANDBOX_PROCESSES: "1" });
  try {
    await until(30_000, () => getJson(`http://127.0.0.1:${port}/health`));
    const sandboxes = (await Deno.readTextFile(`/proc/${server.pid}/task/${server.pid}/children`))
      .trim().split(/\s+/).map(Number);
    assert.equal(sandboxes.length, 1);
    const inFlight = fetch(`http://127.0.0.1:${port}/slow`);
    await new Promise((r) => setTimeout(r, 300));
    for (const pid of [...sandboxes, server.pid]) Deno.kill(pid, "SIGTERM");
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { slow: true });
  } finally {
    await server.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
  const log = server.output();
  assert.match(log, /"Stopped"/);
  assert.doesNotMatch(log, /"level":"ERROR"/, "a stop is not a crash");
});

Deno.test("deno task start, dev and compile cap the server's young generation alike", () => {
  // Without the cap V8 grows the server's new space to ≈ 52 MB under load, a one-time step of
  // ≈ 50 MB RSS that the 100 000-request soak measured as growth (bench/README.md).
  const v8Flags = (task: string) => taskArgs(task).filter((arg) => arg.startsWith("--v8-flags="));
  assert.deepEqual(v8Flags("start"), ["--v8-flags=--max-semi-space-size=4"]);
  assert.deepEqual(v8Flags("dev"), v8Flags("start"));
  assert.deepEqual(v8Flags("compile"), v8Flags("start"));
});

Deno.test("contracts deploy and list write to and read from the configured store", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "tana-edge-cli-" });
  try {
    const env = { DATA_DIR: dataDir };
    assert.equal((await cli(["migrate"], env)).code, 0);
    const file = `${dataDir}/greeter.ts`;
    await Deno.writeTextFile(file, `export function get() { return { hi: 1 }; }`);
    const deployed = await cli(["contracts", "deploy", file, "--name", "greeter-name"], env);
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.match(deployed.stdout, /Deployed greeter \(name greeter-name, version 1/);
    await Deno.writeTextFile(file, `export function get() { return { hi: 2 }; }`);
    const again = await cli(["contracts", "deploy", file, "--id", "greeter"], env);
    assert.match(again.stdout, /version 2/);
    const listed = await cli(["contracts", "list"], env);
    assert.equal(listed.code, 0);
    assert.match(listed.stdout, /^greeter\tgreeter\tv2\tactive/m);

    // Ids no URL could reach, and names already taken, are refused with the reason only.
    for (
      const [args, reason] of [
        [["--id", "a b"], /Contract id "a b" must be 1–128 letters/],
        [["--id", "metrics"], /Contract id "metrics" is reserved/],
        [["--id", "other", "--name", "greeter"], /cannot deploy .*UNIQUE|cannot deploy .*unique/i],
      ] as const
    ) {
      const refused = await cli(["contracts", "deploy", file, ...args], env);
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, reason);
      assert.doesNotMatch(refused.stderr, /\n\s+at /, "no stack trace");
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("dev redeploys a contract file when it changes", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "tana-edge-dev-" });
  const contracts = `${dataDir}/contracts`;
  await Deno.mkdir(contracts);
  const port = freePort();
  const dev = start(["dev", "--contracts-dir", contracts], {
    PORT: String(port),
    DATA_DIR: `${dataDir}/data`,
    SANDBOX_PROCESSES: "1",
  });
  try {
    await until(30_000, () => fetch(`http://127.0.0.1:${port}/health`).then((r) => r.json()));
    await Deno.writeTextFile(`${contracts}/live.ts`, `export function get() { return { v: 1 }; }`);
    await until(
      10_000,
      async () => (await getJson(`http://127.0.0.1:${port}/live`))?.v === 1 || undefined,
    );
    await Deno.writeTextFile(`${contracts}/live.ts`, `export function get() { return { v: 2 }; }`);
    await until(
      10_000,
      async () => (await getJson(`http://127.0.0.1:${port}/live`))?.v === 2 || undefined,
    );
  } finally {
    await dev.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("an invalid setting stops start-up with a message naming the variable", async () => {
  const bad = await cli(["serve"], { PORT: "not-a-port" });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Invalid PORT/);
  const url = await cli(["serve"], { DATABASE_URL: "mysql://x" });
  assert.equal(url.code, 1);
  assert.match(url.stderr, /Invalid DATABASE_URL/);
  const cors = await cli(["serve"], { CORS_ORIGIN: "https://a.example\r\nx-evil: 1" });
  assert.equal(cors.code, 1);
  assert.match(cors.stderr, /Invalid CORS_ORIGIN/);
});
