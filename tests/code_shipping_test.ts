/**
 * A contract's compiled code goes to a sandbox once, not with every run; a sandbox that has
 * dropped it asks for it again and the run is still answered. Over a real sandbox process and a
 * real server.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../src/config.ts";
import { compileModule } from "../src/contracts/compile.ts";
import { sandboxRunArgs } from "../src/sandbox/command.ts";
import { CONTRACTS_KEPT, type FromSandbox, type ToSandbox } from "../src/sandbox/messages.ts";
import { BOOTSTRAP, buildWorkerModules, resolveContractImport } from "../src/sandbox/modules.ts";
import { encodeFrame, readFrames } from "../src/sandbox/protocol.ts";
import type { TanaRequest } from "../src/shims/_runtime.ts";
import { startTestServer } from "./_server.ts";

/** A sandbox process driven frame by frame, as the supervisor drives it. */
async function startSandbox() {
  const config = loadConfig({});
  const child = new Deno.Command(Deno.execPath(), {
    args: sandboxRunArgs(
      config.sandboxHeapMb,
      new URL("../src/sandbox/process.ts", import.meta.url).href,
    ),
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const frames = readFrames<FromSandbox>(child.stdout)[Symbol.asyncIterator]();
  const send = (message: ToSandbox) => writer.write(encodeFrame(message));
  /** The next frame that is not a report (stats, primed, ended). */
  const next = async (): Promise<FromSandbox> => {
    while (true) {
      const { value, done } = await frames.next();
      if (done) throw new Error("sandbox closed its output");
      if (!["stats", "primed", "ended"].includes(value.header.t)) return value.header;
    }
  };
  await send({
    t: "init",
    modules: buildWorkerModules(),
    bootstrap: BOOTSTRAP,
    poolSize: 1,
    spawnAhead: true,
    limits: {
      timeoutMs: 5000,
      maxResponseBytes: 1024 * 1024,
      maxLogLines: 10,
      maxLogLineBytes: 1024,
      maxHostCalls: 10,
    },
  });
  assert.equal((await next()).t, "ready");
  return {
    send,
    next,
    async close() {
      await writer.close();
      await child.status;
    },
  };
}

function request(contractId: string): TanaRequest {
  return {
    url: `http://edge/${contractId}`,
    method: "GET",
    path: "/",
    params: [],
    query: {},
    headers: {},
    ip: "127.0.0.1",
    body: null,
    tana: {
      contract: { id: contractId, name: contractId, owner: "usr_alice", version: 1, codeHash: "" },
      caller: null,
      session: null,
    },
  } as unknown as TanaRequest;
}

function runFrame(rid: number, hash: string, n: number | null): ToSandbox {
  const module = n === null
    ? null
    : compileModule(`export function get() { return { n: ${n} }; }`, resolveContractImport);
  return {
    t: "run",
    rid,
    hash,
    code: module?.code,
    links: module?.links,
    handler: "get",
    request: request(hash),
    block: null,
    readAhead: {},
  };
}

Deno.test("a sandbox asks for code it does not have, runs from what it keeps, and drops the least recent", async () => {
  const sandbox = await startSandbox();
  try {
    // No code and never seen: nothing runs, the sandbox asks.
    await sandbox.send(runFrame(1, "first", null));
    assert.deepEqual(await sandbox.next(), { t: "need", rid: 1 });
    await sandbox.send(runFrame(1, "first", 1));
    const head = await sandbox.next();
    assert.equal(head.t, "head");
    assert.equal((head as { rid: number }).rid, 1);
    // Now kept: a run without code is answered.
    await sandbox.send(runFrame(2, "first", null));
    const again = await sandbox.next();
    assert.equal(again.t, "head", JSON.stringify(again));
    // CONTRACTS_KEPT other contracts later, "first" is the least recent and has been dropped.
    for (let i = 0; i < CONTRACTS_KEPT; i++) {
      await sandbox.send(runFrame(100 + i, `other-${i}`, i));
    }
    for (let i = 0; i < CONTRACTS_KEPT; i++) assert.equal((await sandbox.next()).t, "head");
    await sandbox.send(runFrame(3, "first", null));
    assert.deepEqual(await sandbox.next(), { t: "need", rid: 3 });
    // The most recent of the others is still kept.
    await sandbox.send(runFrame(4, `other-${CONTRACTS_KEPT - 1}`, null));
    assert.equal((await sandbox.next()).t, "head");
  } finally {
    await sandbox.close();
  }
});

Deno.test("a contract's code is sent to each sandbox once, not with every request", async () => {
  const server = await startTestServer({ SANDBOX_PROCESSES: "1" });
  try {
    await server.deploy("hello", `export function get() { return { hello: true }; }`);
    for (let i = 0; i < 5; i++) {
      assert.deepEqual((await server.json("/hello")).body, { hello: true });
    }
    const metrics = await (await server.get("/metrics")).text();
    assert.match(metrics, /^tana_edge_contract_code_sent_total\{reason="new"\} 1$/m);
    assert.doesNotMatch(metrics, /reason="asked"/);
    // A new version has a new code hash: its code goes once more.
    await server.deploy("hello", `export function get() { return { hello: 2 }; }`);
    for (let i = 0; i < 3; i++) assert.deepEqual((await server.json("/hello")).body, { hello: 2 });
    const after = await (await server.get("/metrics")).text();
    assert.match(after, /^tana_edge_contract_code_sent_total\{reason="new"\} 2$/m);
  } finally {
    await server.close();
  }
});
