/**
 * Primed workers: a sandbox loads the contract it served last into a worker ahead of the next
 * request for it. Each worker still serves one request, only for its own contract, and a module
 * that needs a request, spins or exhausts memory while it loads early is caught.
 */
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "./_server.ts";
import { alive, ticksOver } from "./_proc.ts";
import { STUCK_GRACE_MS } from "../src/sandbox/stuck.ts";

/** Long enough between requests for the sandbox to spawn, warm up and prime a worker. */
const GAP_MS = 150;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function primedRuns(server: TestServer): Promise<number> {
  return server.metric("tana_edge_primed_runs_total");
}

/** Requests `path` `count` times, `GAP_MS` apart, and returns the bodies (asserting 200). */
async function requests(server: TestServer, path: string, count: number): Promise<unknown[]> {
  const bodies = [];
  for (let i = 0; i < count; i++) {
    const res = await server.json(path);
    assert.equal(res.status, 200, `${path} #${i}: ${JSON.stringify(res.body)}`);
    bodies.push(res.body);
    await sleep(GAP_MS);
  }
  return bodies;
}

/** A test with a server of its own: one sandbox with a pool of two. */
function primingTest(
  name: string,
  env: Record<string, string>,
  fn: (server: TestServer) => Promise<void>,
): void {
  Deno.test({
    name,
    // The server's timers and sockets are its own, closed with it.
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const server = await startTestServer({
        SANDBOX_PROCESSES: "1",
        SANDBOX_POOL_SIZE: "2",
        ...env,
      });
      try {
        await fn(server);
      } finally {
        await server.close();
      }
    },
  });
}

/**
 * Deploys `id`, which behaves until a moment 2 s ahead and runs `misbehaviour` at top level in
 * every load after it; requests it until a worker is primed, waits for the moment, and checks
 * that the next request is served by the worker primed before it. The worker primed next runs
 * the misbehaviour, outside any request.
 */
async function misbehaveOncePrimed(server: TestServer, id: string, misbehaviour: string) {
  const turn = Date.now() + 2000;
  await server.deploy(
    id,
    `if (Date.now() > ${turn}) { ${misbehaviour} }
    export function get() { return { ok: true }; }`,
  );
  await requests(server, `/${id}`, 3);
  await sleep(turn - Date.now() + 100);
  const primed = await primedRuns(server);
  await requests(server, `/${id}`, 1);
  assert.equal(await primedRuns(server), primed + 1, "served by the worker primed in time");
}

primingTest(
  "after two runs a contract is loaded ahead of its request; a worker still serves one",
  {},
  async (server) => {
    await server.deploy(
      "counter",
      `let runs = 0;
      export function get() { runs++; return { runs }; }`,
    );
    const bodies = await requests(server, "/counter", 8);
    for (const body of bodies) assert.deepEqual(body, { runs: 1 });
    const primed = await primedRuns(server);
    assert.ok(primed >= 3, `runs served primed: ${primed} of 6 possible`);
  },
);

primingTest(
  "only two successful runs in a row make a contract worth priming",
  {},
  async (server) => {
    await server.deploy(
      "flaky",
      `export function get(req) { if (req.query.fail) throw new Error("no"); return {}; }`,
    );
    for (let i = 0; i < 4; i++) {
      assert.equal((await server.json("/flaky")).status, 200);
      await sleep(GAP_MS);
      assert.equal((await server.json("/flaky?fail=1")).status, 500);
      await sleep(GAP_MS);
    }
    assert.equal(await primedRuns(server), 0);
  },
);

primingTest("a worker primed for one contract never serves another", {}, async (server) => {
  // The first leaves a mark on its realm while it loads; the second reports any mark it sees.
  await server.deploy(
    "marker",
    `globalThis.mark = "marker"; export function get() { return {}; }`,
  );
  await server.deploy(
    "reader",
    `export function get() { return { mark: globalThis.mark ?? null }; }`,
  );
  await requests(server, "/marker", 4);
  const before = await primedRuns(server);
  assert.ok(before >= 1, "the marker was served primed");
  for (const body of await requests(server, "/reader", 5)) assert.deepEqual(body, { mark: null });
  // The reader became the contract served here, so the worker primed for it took over.
  assert.ok(await primedRuns(server) > before, "the reader was served primed in turn");
});

primingTest(
  "modules that need their request while they load are not primed and see it",
  {},
  async (server) => {
    await server.putKv("kv-top", { greeting: "hi" });
    await server.deploy(
      "context-top",
      `import { context } from "tana:context";
      const owner = context.owner();
      export function get() { return { owner }; }`,
      { owner: "usr_erin" },
    );
    await server.deploy(
      "kv-top",
      `import { kv } from "tana:kv";
      const greeting = await kv.get("greeting");
      export function get() { return { greeting }; }`,
    );
    await server.deploy(
      "block-top",
      `import { block } from "tana:block";
      const height = block.height;
      export function get() { return { positive: height > 0 }; }`,
    );
    await server.deploy("log-top", `console.log("loading"); export function get() { return {}; }`);
    // A line logged a turn after the module loaded still needs a request.
    await server.deploy(
      "log-later",
      `setTimeout(() => console.log("later"), 0); export function get() { return {}; }`,
    );
    for (const body of await requests(server, "/context-top", 5)) {
      assert.deepEqual(body, { owner: "usr_erin" });
    }
    for (const body of await requests(server, "/kv-top", 5)) {
      assert.deepEqual(body, { greeting: "hi" });
    }
    for (const body of await requests(server, "/block-top", 5)) {
      assert.deepEqual(body, { positive: true });
    }
    await requests(server, "/log-top", 5);
    await requests(server, "/log-later", 5);
    assert.equal(await primedRuns(server), 0);
  },
);

primingTest(
  "a module that spins while it loads ahead of its request is given up, and its sandbox replaced",
  { REQUEST_TIMEOUT_MS: "1000" },
  async (server) => {
    await server.deploy("ordinary", `export function get() { return { ok: true }; }`);
    await misbehaveOncePrimed(server, "spinner", "while (true) {}");
    const [pid] = server.supervisor.pids();
    await requests(server, "/ordinary", 2);
    // At the time limit the worker is terminated, which does not stop a loop: its sandbox is
    // then replaced, and nothing spins any more.
    await sleep(1000 + STUCK_GRACE_MS + 2500);
    assert.ok(!(await alive(pid)), "the sandbox with the spinning worker is still running");
    const ticks = await ticksOver(server.supervisor.pids(), 1000);
    assert.ok(ticks < 30, `sandboxes used ${ticks} of 100 ticks in a second`);
    const metrics = await (await server.get("/metrics")).text();
    assert.match(metrics, /^tana_edge_stuck_workers_total 1$/m);
    await requests(server, "/ordinary", 1);
  },
);

primingTest(
  "a module that exhausts memory while it loads ahead of its request is blamed",
  { SANDBOX_HEAP_MB: "64", REQUEST_TIMEOUT_MS: "5000", QUARANTINE_THRESHOLD: "1" },
  async (server) => {
    await server.deploy("ordinary", `export function get() { return { ok: true }; }`);
    const pids = server.supervisor.pids();
    await misbehaveOncePrimed(
      server,
      "hog",
      "const a = []; while (true) a.push(new Array(1e5).fill({ x: 1 }));",
    );
    // No request of its own is in flight when its next primed load takes the sandbox down.
    const deadline = Date.now() + 10_000;
    while (server.supervisor.pids().some((pid) => pids.includes(pid))) {
      assert.ok(Date.now() < deadline, "the sandbox did not die");
      await sleep(50);
    }
    const res = await server.json("/hog");
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.equal(res.body.code, "contract_quarantined");
    await requests(server, "/ordinary", 1);
  },
);
