/**
 * The hostile-contract suite (issue 3): contracts that really attempt to read, reach, leak,
 * stall, exhaust or amplify, run over HTTP against a real server with real sandbox processes.
 *
 * Every group ends with {@link assertStillServing}: `/health` answers and an ordinary contract
 * still returns the right result. Every client-visible body goes through {@link assertClean}:
 * no host path, `file:` URL, runtime-internal location or environment value.
 *
 * Run: `deno test --allow-all --unstable-worker-options tests/hostile_test.ts`
 *
 * @module
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { startTestServer, type TestServer } from "./_server.ts";
import { alive, ticksOver } from "./_proc.ts";
import { STUCK_GRACE_MS } from "../src/sandbox/stuck.ts";

/** Small limits so that every limit is reached quickly. */
const TIMEOUT_MS = 1000;
const BASE_ENV = {
  REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
  SANDBOX_HEAP_MB: "64",
  MAX_RESPONSE_BYTES: String(64 * 1024),
  MAX_LOG_LINES: "20",
  MAX_LOG_LINE_BYTES: "256",
  MAX_HOST_CALLS: "50",
  NEGATIVE_CACHE_TTL_MS: "0",
};

/** Set in this process before servers start: it must never reach a client or a contract. */
const SENTINEL = "hostile-sentinel-4f9a1c";
Deno.env.set("TANA_HOSTILE_SENTINEL", SENTINEL);
Deno.env.set("DATABASE_URL_SENTINEL", "postgres://secret@db/prod");

type Json = {
  status: number;
  headers: Headers;
  body: { code?: string; error?: string } & Record<string, unknown>;
};

/** Strings that would mean the host leaked something into a response. */
const FORBIDDEN = [
  "/work/",
  "/tmp/",
  "/home/",
  "/root/",
  "file://",
  "ext:",
  "DATABASE_URL",
  "postgres://",
  SENTINEL,
  "tana-edge.db",
];
/** Error bodies also carry no stack frames and no module URLs. */
const FORBIDDEN_IN_ERRORS = ["    at ", "blob:"];

function assertClean(res: { body: unknown }, what = ""): void {
  const isError = typeof res.body === "object" && res.body !== null && "code" in res.body;
  // A compile error quotes the specifier the contract itself wrote (e.g. "file:///etc/passwd").
  const text = (typeof res.body === "string" ? res.body : JSON.stringify(res.body))
    .replace(/forbidden import \\"[^"\\]*\\"/g, "forbidden import <specifier>");
  for (const bad of isError ? [...FORBIDDEN, ...FORBIDDEN_IN_ERRORS] : FORBIDDEN) {
    assert.ok(!text.includes(bad), `${what}: response leaks "${bad}": ${text.slice(0, 500)}`);
  }
}

const ORDINARY = `
import { Response } from "tana:net";
export function get(req) {
  return Response.json({ ok: true, sum: [1, 2, 3].reduce((a, b) => a + b, 0), q: req.query.q ?? null });
}`;

/** `/health` answers and an ordinary contract returns the right result. */
async function assertStillServing(server: TestServer, q = "x"): Promise<void> {
  const health = await server.json("/health");
  assert.equal(health.status, 200);
  assert.equal(health.body.status, "ok");
  const res = await server.json(`/ordinary?q=${q}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(res.body, { ok: true, sum: 6, q });
}

let nextId = 0;
/** Deploys `source` under a fresh id and requests it once. */
async function attack(
  server: TestServer,
  source: string,
  path = "",
  init?: RequestInit,
): Promise<Json> {
  const id = `hostile-${++nextId}`;
  await server.deploy(id, source);
  const res = await server.json(`/${id}${path}`, init) as Json;
  assertClean(res, id);
  return res;
}

/** Expects a contract error whose message matches. */
function assertContractError(res: Json, message: RegExp, code = "contract_error"): void {
  assert.equal(res.body.code, code, JSON.stringify(res.body));
  assert.equal(res.status, 500);
  assert.match(String(res.body.error), message);
}

/** Expects the load-time rejection of a forbidden import. */
function assertRejectedAtCompile(res: Json, message: RegExp): void {
  assertContractError(res, message, "compile_error");
}

async function withServer(
  env: Record<string, string>,
  fn: (server: TestServer) => Promise<void>,
): Promise<void> {
  const server = await startTestServer({ ...BASE_ENV, ...env });
  try {
    await server.deploy("ordinary", ORDINARY);
    await fn(server);
  } finally {
    await server.close();
  }
}

/** Runs a test with a server; the server's own timers and sockets outlive single steps. */
function hostileTest(
  name: string,
  env: Record<string, string>,
  fn: (t: Deno.TestContext, server: TestServer) => Promise<void>,
): void {
  Deno.test({
    name,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: (t) => withServer(env, (server) => fn(t, server)),
  });
}

hostileTest("sandbox denies file reads", {}, async (t, server) => {
  await t.step("Deno.readTextFile and every other way to reach Deno", async () => {
    const res = await attack(
      server,
      `export async function get() { return await Deno.readTextFile("/etc/passwd"); }`,
    );
    assertContractError(res, /ReferenceError: Deno is not defined/);
    const probe = await attack(
      server,
      `export function get() {
        const g = globalThis;
        return {
          computed: typeof g["De" + "no"],
          self: typeof self.Deno,
          proto: typeof Object.getPrototypeOf(g).Deno,
          ctor: typeof g.constructor?.prototype?.Deno,
          reflect: typeof Reflect.get(g, "Deno"),
          symbol: Object.getOwnPropertySymbols(g).map(String),
        };
      }`,
    );
    assert.equal(probe.status, 200);
    assert.deepEqual(probe.body, {
      computed: "undefined",
      self: "undefined",
      proto: "undefined",
      ctor: "undefined",
      reflect: "undefined",
      symbol: probe.body.symbol, // whatever V8 has, checked below
    });
    assert.ok(!(probe.body.symbol as string[]).some((s) => /deno/i.test(s)), "Deno symbol");
  });

  await t.step("node:fs, bare fs, re-exports and import attributes are rejected", async () => {
    for (
      const source of [
        `import { readFileSync } from "node:fs"; export function get() { return readFileSync("/etc/passwd", "utf8"); }`,
        `import * as fs from "fs"; export function get() { return fs.readFileSync("/etc/passwd", "utf8"); }`,
        `export * from "node:fs"; export function get() { return 1; }`,
        `export { readFileSync as get } from "node:fs";`,
        `import "node:fs"; export function get() { return 1; }`,
        `import passwd from "file:///etc/passwd" with { type: "text" }; export function get() { return passwd; }`,
        `import cfg from "/etc/passwd" with { type: "text" }; export function get() { return cfg; }`,
        `import x from "./secret.ts"; export function get() { return x; }`,
        `import x from "data:text/javascript,export default Deno"; export function get() { return typeof x; }`,
      ]
    ) {
      const res = await attack(server, source);
      assertRejectedAtCompile(res, /forbidden import "[^"]+" \(line 1\)/);
    }
  });

  await t.step("tana: lookalikes are rejected", async () => {
    for (
      const spec of [
        "tana:../../etc/passwd",
        "tana:kv/../../../etc/passwd",
        "tana:KV",
        "tana:kv?x=1",
        "tana:kv#x",
        "tana:_runtime",
        "tana:_bootstrap",
        "tana://kv",
        "tana:kv ",
        "TANA:kv",
        "tanа:kv", // Cyrillic "а"
        "tana:kv\\u0000",
      ]
    ) {
      const res = await attack(
        server,
        `import * as m from ${
          JSON.stringify(spec)
        }; export function get() { return Object.keys(m); }`,
      );
      assertRejectedAtCompile(res, /forbidden import/);
    }
  });

  await t.step('import("file:...") is rejected at compile time, however written', async () => {
    for (
      const body of [
        `return await import("file:///etc/passwd");`,
        `return await import\n("file:///etc/passwd");`,
        `return await import /* c */ ("file:///etc/passwd");`,
        `return \`\${await import("file:///etc/passwd")}\`;`,
        `const re = /"/; return [re, await import("file:///etc/passwd")];`,
        `const p = "file:///etc/" + "passwd"; return await import(p);`,
        `return await import("file:///etc/passwd", { with: { type: "text" } });`,
      ]
    ) {
      const res = await attack(server, `export async function get() { ${body} }`);
      assertRejectedAtCompile(res, /dynamic import\(\) is not allowed/);
    }
  });

  await t.step('fetch("file:...") is refused, globally and through tana:utils', async () => {
    const res = await attack(
      server,
      `import { fetch as hostFetch } from "tana:utils";
      export async function get() {
        const out = {};
        try { out.global = await (await fetch("file:///etc/passwd")).text(); }
        catch (e) { out.global = e.name + ": " + e.message; }
        try { out.host = await (await hostFetch("file:///etc/passwd")).text(); }
        catch (e) { out.host = e.name; }
        try { out.req = await (await fetch(new Request("file:///etc/passwd"))).text(); }
        catch (e) { out.req = e.name; }
        return out;
      }`,
    );
    assert.equal(res.status, 200);
    assert.match(String(res.body.global), /^TypeError: Global fetch is not available/);
    assert.notEqual(res.body.host, undefined);
    assert.ok(!JSON.stringify(res.body).includes("root:"), "passwd content leaked");
  });

  await t.step("a forged message cannot make the bootstrap import a module", async () => {
    // dispatchEvent is reachable (EventTarget.prototype): a forged `run` once made the bootstrap
    // import a data: module, bypassing the compile-time ban on dynamic import().
    const forged = `export function get() { return { forged: true }; }`;
    const res = await attack(
      server,
      `export async function get() {
        const url = "data:text/javascript," + encodeURIComponent(${JSON.stringify(forged)});
        const run = { t: "run", url, handler: "get", request: { method: "GET" }, block: null, maxResponseBytes: 1e6 };
        dispatchEvent(new MessageEvent("message", { data: run }));
        EventTarget.prototype.dispatchEvent.call(globalThis, new MessageEvent("message", { data: { t: "init", shims: [url] } }));
        await new Promise((r) => setTimeout(r, 200));
        return { real: true };
      }`,
    );
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { real: true });
  });

  await assertStillServing(server);
});

hostileTest("sandbox denies network access", {}, async (t, server) => {
  let hits = 0;
  const local = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    hits++;
    return new Response("export default 1;", { headers: { "content-type": "text/javascript" } });
  });
  const base = `http://127.0.0.1:${local.addr.port}`;
  try {
    await t.step("global fetch, WebSocket, EventSource, Deno.connect", async () => {
      const res = await attack(
        server,
        `export async function get() {
          const out = {};
          const attempt = async (name, f) => { try { out[name] = String(await f()); } catch (e) { out[name] = e.name; } };
          await attempt("fetch", () => fetch(${JSON.stringify(base + "/f")}));
          await attempt("fetchReq", () => fetch(new Request(${
          JSON.stringify(base + "/r")
        }, { method: "POST" })));
          await attempt("ws", () => new WebSocket(${
          JSON.stringify(`ws://127.0.0.1:${local.addr.port}/ws`)
        }));
          await attempt("es", () => new EventSource(${JSON.stringify(base + "/es")}));
          await attempt("connect", () => Deno.connect({ hostname: "127.0.0.1", port: ${local.addr.port} }));
          await attempt("beacon", () => navigator.sendBeacon(${JSON.stringify(base + "/b")}));
          await new Promise((r) => setTimeout(r, 100));
          return out;
        }`,
      );
      assert.equal(res.status, 200);
      assert.deepEqual(Object.keys(res.body).sort(), [
        "beacon",
        "connect",
        "es",
        "fetch",
        "fetchReq",
        "ws",
      ]);
      for (const [name, outcome] of Object.entries(res.body)) {
        assert.match(String(outcome), /^(TypeError|ReferenceError)$/, name);
      }
    });

    await t.step("node:net, http: and npm: imports are rejected at compile time", async () => {
      assertRejectedAtCompile(
        await attack(
          server,
          `import net from "node:net"; export function get() { net.connect(${local.addr.port}); return 1; }`,
        ),
        /forbidden import "node:net"/,
      );
      assertRejectedAtCompile(
        await attack(
          server,
          `import x from "${base}/static.js"; export function get() { return x; }`,
        ),
        /forbidden import "http:/,
      );
      assertRejectedAtCompile(
        await attack(
          server,
          `export async function get() { return await import("${base}/x.js"); }`,
        ),
        /dynamic import\(\) is not allowed/,
      );
      // npm: is rejected by the compiler in the server, before any sandbox sees the contract,
      // so nothing can ask a registry for it; sandboxes also run with --cached-only, which keeps
      // even an evaded import from downloading anything.
      assertRejectedAtCompile(
        await attack(
          server,
          `export async function get() { return await import("npm:left-pad"); }`,
        ),
        /dynamic import\(\) is not allowed/,
      );
      assertRejectedAtCompile(
        await attack(
          server,
          `import pad from "npm:left-pad@1.3.0"; export function get() { return pad("a", 3); }`,
        ),
        /forbidden import "npm:left-pad@1.3.0"/,
      );
      assertRejectedAtCompile(
        await attack(server, `import x from "jsr:@std/fs"; export function get() { return x; }`),
        /forbidden import "jsr:@std\/fs"/,
      );
    });

    await t.step("tana:utils fetch refuses hosts off the allow-list", async () => {
      const res = await attack(
        server,
        `import { fetch } from "tana:utils";
        export async function get() {
          try { await fetch(${JSON.stringify(base + "/u")}); return "reached"; }
          catch (e) { return e.message; }
        }`,
      );
      assert.equal(res.status, 200);
      assert.match(String(res.body), /127\.0\.0\.1/);
    });

    await t.step("a local server received zero requests", () => {
      assert.equal(hits, 0);
    });
  } finally {
    await local.shutdown();
  }
  await assertStillServing(server);
});

hostileTest("sandbox denies env, subprocess, FFI and exit", {}, async (t, server) => {
  const pids = server.supervisor.pids();

  await t.step("env: Deno.env, process.env, globalThis.process", async () => {
    assertContractError(
      await attack(server, `export function get() { return Deno.env.toObject(); }`),
      /ReferenceError: Deno is not defined/,
    );
    assertContractError(
      await attack(server, `export function get() { return process.env; }`),
      /ReferenceError: process is not defined/,
    );
    const res = await attack(
      server,
      `export function get() {
        return {
          process: typeof globalThis.process,
          buffer: typeof globalThis.Buffer,
          global: typeof globalThis.global,
          env: globalThis.process?.env?.TANA_HOSTILE_SENTINEL ?? null,
        };
      }`,
    );
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      process: "undefined",
      buffer: "undefined",
      global: "undefined",
      env: null,
    });
  });

  await t.step("subprocess: Deno.Command, node:child_process", async () => {
    assertContractError(
      await attack(
        server,
        `export async function get() { return await new Deno.Command("id").output(); }`,
      ),
      /ReferenceError/,
    );
    assertRejectedAtCompile(
      await attack(
        server,
        `import { execSync } from "node:child_process"; export function get() { return String(execSync("id")); }`,
      ),
      /forbidden import "node:child_process"/,
    );
  });

  await t.step("FFI: Deno.dlopen", async () => {
    assertContractError(
      await attack(
        server,
        `export function get() { return Deno.dlopen("libc.so.6", { getpid: { parameters: [], result: "i32" } }).symbols.getpid(); }`,
      ),
      /ReferenceError/,
    );
  });

  await t.step("Deno.exit and close() end nothing", async () => {
    assertContractError(
      await attack(server, `export function get() { Deno.exit(1); return 1; }`),
      /ReferenceError/,
    );
    assertContractError(
      await attack(server, `export function get() { close(); return 1; }`),
      /ReferenceError|TypeError/,
    );
    assertContractError(
      await attack(server, `export function get() { self.close(); return 1; }`),
      /TypeError/,
    );
    assertContractError(
      await attack(server, `export function get() { globalThis.postMessage({ t: "result" }); }`),
      /TypeError/,
    );
  });

  await assertStillServing(server);
  assert.deepEqual(server.supervisor.pids(), pids, "no sandbox process ended");
});

hostileTest("sandbox disallows code generation from strings", {}, async (t, server) => {
  await t.step("eval, Function constructors, string timers", async () => {
    const res = await attack(
      server,
      `export async function get() {
        const out = {};
        const attempt = (name, f) => { try { out[name] = String(f()); } catch (e) { out[name] = e.name; } };
        attempt("eval", () => eval("1 + 1"));
        attempt("indirectEval", () => (0, eval)("1 + 1"));
        attempt("computedEval", () => globalThis["ev" + "al"]("1 + 1"));
        attempt("Function", () => new Function("return 1")());
        attempt("FunctionCall", () => Function("return 1")());
        attempt("protoCtor", () => (function () {}).constructor("return 1")());
        attempt("FunctionProto", () => Function.prototype.constructor("return 1")());
        attempt("async", () => Object.getPrototypeOf(async function () {}).constructor("return 1"));
        attempt("generator", () => Object.getPrototypeOf(function* () {}).constructor("yield 1"));
        attempt("asyncGenerator", () => Object.getPrototypeOf(async function* () {}).constructor("yield 1"));
        attempt("reflect", () => Reflect.construct(Function, ["return 1"])());
        attempt("arrowCtor", () => (() => 1).constructor("return 1")());
        globalThis.ran = false;
        attempt("setTimeout", () => setTimeout("globalThis.ran = true", 0));
        attempt("setInterval", () => clearInterval(setInterval("globalThis.ran = true", 1)));
        await new Promise((r) => setTimeout(r, 50));
        out.ran = globalThis.ran;
        return out;
      }`,
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { ran, setTimeout: st, setInterval: si, ...rest } = res.body;
    for (const [name, outcome] of Object.entries(rest)) {
      assert.equal(outcome, "EvalError", `${name} generated code: ${outcome}`);
    }
    assert.equal(ran, false, "a string timer ran");
    // A string timer body is refused (TypeError in Deno 2.9) or would need the disallowed code
    // generation; either way the string never ran (checked above).
    assert.match(String(st), /^(EvalError|TypeError|\d+)$/, `setTimeout: ${st}`);
    assert.match(String(si), /^(EvalError|TypeError|undefined)$/, `setInterval: ${si}`);
  });

  await t.step("import.meta reveals no host path and imports nothing", async () => {
    const res = await attack(
      server,
      `export function get() {
        return {
          filename: import.meta.filename ?? null,
          dirname: import.meta.dirname ?? null,
          main: import.meta.main ?? null,
          url: import.meta.url.startsWith("blob:"),
          location: String(globalThis.location).startsWith("blob:"),
        };
      }`,
    );
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      filename: null,
      dirname: null,
      main: false,
      url: true,
      location: true,
    });
  });

  await assertStillServing(server);
});

hostileTest("sandbox bounds CPU time", {}, async (t, server) => {
  const timed = async (source: string) => {
    const started = performance.now();
    const res = await attack(server, source);
    const ms = performance.now() - started;
    assert.equal(res.status, 504, JSON.stringify(res.body));
    assert.equal(res.body.code, "timeout");
    assert.ok(ms < TIMEOUT_MS + 1500, `answered after ${Math.round(ms)} ms`);
  };
  /**
   * Once a stuck worker would have been found and its sandbox replaced, the sandboxes are idle:
   * nothing the attack started still runs (a thread left spinning would use ~100 ticks).
   */
  const idleSoon = async () => {
    await new Promise((r) => setTimeout(r, STUCK_GRACE_MS + 2500));
    const ticks = await ticksOver(server.supervisor.pids(), 1000);
    assert.ok(ticks < 30, `sandboxes used ${ticks} of 100 ticks in a second`);
  };
  let stuck = 0;

  // Deno's Worker.terminate() does not stop these (the worker never returns to its event
  // loop): the run times out, and the sandbox holding the thread is replaced.
  const runaway: [string, string][] = [
    ["while (true) {}", `export function get() { while (true) {} }`],
    [
      "an endless microtask chain",
      `export function get() {
        const spin = () => queueMicrotask(spin);
        spin();
        return new Promise(() => {});
      }`,
    ],
    [
      "Atomics.wait on a SharedArrayBuffer",
      `export function get() {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
        return 1;
      }`,
    ],
  ];
  for (const [name, source] of runaway) {
    await t.step(`${name}: timed out, and its sandbox replaced`, async () => {
      const before = server.supervisor.pids();
      await timed(source);
      await assertStillServing(server);
      await idleSoon();
      for (const pid of before) assert.ok(!(await alive(pid)), `sandbox ${pid} is still running`);
      stuck++;
    });
  }

  await t.step(
    "a loop a timer starts after the result is sent does not outlive the request",
    async () => {
      const res = await attack(
        server,
        `export function get() { setTimeout(() => { while (true) {} }, 0); return { ok: true }; }`,
      );
      assert.equal(res.status, 200);
      // Whether the loop began before the worker was terminated is a race; either way it ends.
      await idleSoon();
      await assertStillServing(server);
    },
  );

  // These return to the event loop, where termination works: the sandbox stays.
  const terminable: [string, string][] = [
    [
      "a busy loop of timers",
      `export function get() {
        // Constant memory: a doubling storm of timers ends in memory_limit_exceeded instead.
        const spin = () => { setTimeout(spin, 0); for (let i = 0; i < 1e5; i++); };
        setInterval(() => { for (let i = 0; i < 1e5; i++); }, 0);
        spin();
        return new Promise(() => {});
      }`,
    ],
    [
      "a handler that never settles",
      `export async function get() { await new Promise(() => {}); }`,
    ],
  ];
  for (const [name, source] of terminable) {
    await t.step(`${name}: timed out, and the sandbox kept`, async () => {
      const before = server.supervisor.pids();
      await timed(source);
      await idleSoon();
      assert.deepEqual(server.supervisor.pids(), before, "a timeout alone must not cost a sandbox");
    });
  }

  await assertStillServing(server);
  const found = await server.metric("tana_edge_stuck_workers_total");
  assert.ok(found >= stuck, `stuck workers found: ${found}, expected at least ${stuck}`);
});

// A longer time limit here: the memory attacks must reach their limit before the clock does.
// Reaching the heap or resident-size limit takes a loaded machine well over 5 s (measured with
// both cores busy elsewhere); the limit here only has to be longer than that.
hostileTest("sandbox bounds memory and stack", {
  SANDBOX_PROCESSES: "1",
  REQUEST_TIMEOUT_MS: "15000",
}, async (t, server) => {
  const expectMemoryFailure = async (source: string) => {
    const before = server.supervisor.pids();
    const res = await attack(server, source);
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.ok(
      res.body.code === "memory_limit_exceeded" || res.body.code === "sandbox_crashed",
      JSON.stringify(res.body),
    );
    await assertStillServing(server);
    const after = server.supervisor.pids();
    assert.equal(after.length, 1);
    assert.notDeepEqual(after, before, "a replacement sandbox started");
  };

  await t.step("unbounded heap growth", () =>
    expectMemoryFailure(
      `export function get() { const a = []; while (true) a.push(new Array(1e5).fill({ x: 1 })); }`,
    ));

  await t.step("unbounded ArrayBuffer growth (outside the V8 heap)", () =>
    expectMemoryFailure(
      `export function get() {
        const keep = [];
        while (true) { const b = new Uint8Array(64 << 20); b.fill(1); keep.push(b); }
      }`,
    ));

  await t.step("unbounded Blob growth; blob URLs are unavailable", async () => {
    const res = await attack(
      server,
      `export function get() { return typeof URL.createObjectURL + typeof URL.revokeObjectURL; }`,
    );
    assert.deepEqual(res.body, "undefinedundefined");
    await expectMemoryFailure(
      `export function get() {
        const b = new Uint8Array(64 << 20); b.fill(1);
        const keep = [];
        while (true) keep.push(new Blob([b]));
      }`,
    );
  });

  await t.step("deep recursion is a contract error, not a crash", async () => {
    const pids = server.supervisor.pids();
    const res = await attack(
      server,
      `export function get() { const f = (n) => f(n + 1) + 1; return f(0); }`,
    );
    assertContractError(res, /RangeError: Maximum call stack size exceeded/);
    assert.deepEqual(server.supervisor.pids(), pids);
  });

  await t.step("huge return values and huge errors", async () => {
    assertContractError(
      await attack(server, `export function get() { return "x".repeat(10 << 20); }`),
      /Response is \d+ bytes; the limit is 65536 bytes/,
      "response_too_large",
    );
    assertContractError(
      await attack(
        server,
        `import { Response } from "tana:net"; export function get() { return Response.text("y".repeat(1 << 20)); }`,
      ),
      /the limit is 65536 bytes/,
      "response_too_large",
    );
    assertContractError(
      await attack(
        server,
        `export function get() {
          // Lie about sizes to the bootstrap, which shares this realm: the sandbox process checks.
          const typed = Object.getPrototypeOf(Uint8Array.prototype);
          Object.defineProperty(typed, "byteLength", { get() { return 0; } });
          Object.defineProperty(ArrayBuffer.prototype, "byteLength", { get() { return 0; } });
          return "x".repeat(1 << 20);
        }`,
      ),
      /the limit is 65536 bytes/,
      "response_too_large",
    );
    const thrown = await attack(
      server,
      `export function get() { throw new Error("z".repeat(5 << 20)); }`,
    );
    assertContractError(thrown, /^Error: z+… \(truncated\)/);
    assert.ok(JSON.stringify(thrown.body).length < 16 * 1024, "error bodies are bounded");
    const raw = await attack(server, `export function get() { throw "w".repeat(5 << 20); }`);
    assert.equal(raw.body.code, "contract_error");
    assert.ok(JSON.stringify(raw.body).length < 16 * 1024, "thrown strings are bounded");
  });

  await t.step("crypto work cannot outlive the request", async () => {
    const res = await attack(
      server,
      `export async function get() {
        const key = await crypto.subtle.importKey("raw", new Uint8Array(16), "PBKDF2", false, ["deriveBits"]);
        try {
          await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-512", salt: new Uint8Array(16), iterations: 2 ** 31 }, key, 512);
          return "derived";
        } catch (e) { return e.name; }
      }`,
    );
    assert.deepEqual(res.body, "NotSupportedError");
    // The methods are wrapped on first use: taken from the prototype before `crypto.subtle` is
    // ever read, or from an instance's prototype, they are the wrapped ones all the same.
    for (
      const take of [
        "SubtleCrypto.prototype.deriveBits",
        "Object.getPrototypeOf(crypto.subtle).deriveBits",
        'Object.getOwnPropertyDescriptor(globalThis, "SubtleCrypto").get().prototype.deriveBits',
      ]
    ) {
      const taken = await attack(
        server,
        `export async function get() {
          const deriveBits = ${take};
          const key = await crypto.subtle.importKey("raw", new Uint8Array(16), "PBKDF2", false, ["deriveBits"]);
          try {
            await deriveBits.call(crypto.subtle, { name: "PBKDF2", hash: "SHA-512", salt: new Uint8Array(16), iterations: 2 ** 31 }, key, 512);
            return "derived";
          } catch (e) { return e.name; }
        }`,
      );
      assert.deepEqual(taken.body, "NotSupportedError", take);
    }
    const works = await attack(
      server,
      `export async function get() {
        const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode("tana"));
        return [typeof SubtleCrypto, crypto.subtle instanceof SubtleCrypto, new Uint8Array(digest).length];
      }`,
    );
    assert.deepEqual(works.body, ["function", true, 32]);
  });

  await assertStillServing(server);
});

hostileTest(
  "host calls the host cannot carry fail the call, never the sandbox",
  { SANDBOX_HEAP_MB: "256", REQUEST_TIMEOUT_MS: "10000", MAX_BODY_BYTES: "20000000" },
  async (t, server) => {
    const pids = server.supervisor.pids();
    // The shim checks ids with for…of; a replaced iterator shows it strings while the structured
    // clone to the sandbox carries what the array really holds.
    const smuggle = (value: string) =>
      `import { block } from "tana:block";
      export async function get() {
        const ids = [${value}];
        const iterator = Array.prototype[Symbol.iterator];
        Array.prototype[Symbol.iterator] = function* () { yield "x"; };
        let call;
        try { call = block.getUser(ids); } finally { Array.prototype[Symbol.iterator] = iterator; }
        try { await call; return "answered"; } catch (e) { return e.name + ": " + e.message; }
      }`;

    await t.step("a BigInt in the arguments", async () => {
      const res = await attack(server, smuggle("1n"));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.match(String(res.body), /^TypeError: Host call arguments .*JSON/);
    });

    await t.step("a cycle in the arguments", async () => {
      const res = await attack(server, smuggle("(() => { const a = []; a.push(a); return a; })()"));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.match(String(res.body), /^TypeError: Host call arguments .*JSON/);
    });

    await t.step("arguments larger than a frame can carry", async () => {
      // 13 MB of body is over 17 MB of base64: more than one frame between processes holds.
      const res = await attack(
        server,
        `import { fetch } from "tana:utils";
        export async function get() {
          try {
            await fetch("https://api.example.com/", { method: "POST", body: "a".repeat(13e6) });
            return "sent";
          } catch (e) { return e.name + ": " + e.message; }
        }`,
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.match(String(res.body), /^RangeError: Host call arguments are too large/);
    });

    await t.step("a KV value larger than a frame", async () => {
      await server.deploy(
        "big-kv",
        `import { kv } from "tana:kv";
        export async function get() {
          try { return typeof (await kv.get("big")); } catch (e) { return e.name + ": " + e.message; }
        }`,
      );
      await server.putKv("big-kv", { big: "q".repeat(17e6) });
      const res = await server.json("/big-kv");
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.match(String(res.body), /^RangeError: Host call result is too large/);
    });

    await t.step("a request body larger than a frame", async () => {
      await server.deploy("big-body", `export function post(req) { return req.body.length; }`);
      const res = await server.json("/big-body", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify("b".repeat(17e6)),
      });
      assert.equal(res.status, 413, JSON.stringify(res.body));
      assert.equal(res.body.code, "body_too_large");
    });

    await t.step("no sandbox was lost", () => {
      assert.deepEqual(server.supervisor.pids(), pids);
    });
    await assertStillServing(server);
  },
);

hostileTest("sandbox bounds logs and host calls", {}, async (t, server) => {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { capture: (record) => records.push(record) },
    loggers: [
      { category: ["tana-edge", "contract"], lowestLevel: "debug", sinks: ["capture"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  try {
    await t.step("a flood of console.log is capped", async () => {
      const res = await attack(
        server,
        `export function get() {
          for (let i = 0; i < 20000; i++) console.log("line", i);
          console.error("x".repeat(1 << 20));
          return { done: true };
        }`,
      );
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { done: true });
      const requestId = res.headers.get("x-request-id");
      const mine = records.filter((r) => r.properties.requestId === requestId);
      assert.ok(mine.length <= 21, `${mine.length} log records kept`);
      assert.ok(mine.some((r) => /more log lines dropped/.test(String(r.properties.text))));
      for (const r of mine) assert.ok(String(r.properties.text).length <= 256 + 20);
    });

    await t.step("huge log lines in a loop cost the sandbox no more than short ones", async () => {
      const pids = server.supervisor.pids();
      await server.deploy(
        "loud",
        `export function get() {
          const big = "x".repeat(10e6);
          for (let i = 0; i < 100; i++) console.log(big);
          return { done: true };
        }`,
      );
      const runs = await Promise.all([
        ...Array.from({ length: 3 }, () => server.json("/loud")),
        server.json("/ordinary?q=beside"),
      ]);
      for (const res of runs.slice(0, 3)) {
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(res.body, { done: true });
        const mine = records.filter((r) =>
          r.properties.requestId === res.headers.get("x-request-id")
        );
        assert.ok(mine.length <= 21, `${mine.length} log records kept`);
        assert.ok(mine.some((r) => /^80 more log lines dropped/.test(String(r.properties.text))));
        assert.ok(mine.some((r) => /… \(truncated\)$/.test(String(r.properties.text))));
      }
      assert.equal(runs[3].status, 200, JSON.stringify(runs[3].body));
      assert.deepEqual(server.supervisor.pids(), pids, "no sandbox was lost");
    });

    await t.step("a flood of host calls hits limit_exceeded", async () => {
      assertContractError(
        await attack(
          server,
          `import { kv } from "tana:kv";
          export async function get() { for (let i = 0; i < 100000; i++) await kv.get("k" + i); return 1; }`,
        ),
        /Host call limit exceeded: 50 per request/,
        "limit_exceeded",
      );
      assertContractError(
        await attack(
          server,
          `import { block } from "tana:block";
          export async function get() { return await Promise.all(Array.from({ length: 100000 }, () => block.getLatestBlock())); }`,
        ),
        /Host call limit exceeded/,
        "limit_exceeded",
      );
    });
  } finally {
    await reset();
  }
  await assertStillServing(server);
});

hostileTest("contracts cannot see each other's state", {}, async (t, server) => {
  await t.step("global and prototype pollution does not cross requests", async () => {
    await server.deploy(
      "polluter",
      `import { kv } from "tana:kv";
      export function get() {
        const seen = { leak: globalThis.leak ?? null, polluted: ({}).polluted ?? null, push: [].push(1) };
        globalThis.leak = "polluter";
        Object.prototype.polluted = true;
        Array.prototype.push = () => 999;
        JSON.stringify = () => '"hijacked"';
        Promise.prototype.then = function () { return "hijacked"; };
        try { kv.get = () => "evil"; } catch {}
        return seen;
      }`,
    );
    await server.deploy(
      "victim",
      `import { kv } from "tana:kv";
      export async function get() {
        return { leak: globalThis.leak ?? null, polluted: ({}).polluted ?? null, push: [].push(1), kv: await kv.get("none") };
      }`,
    );
    for (let i = 0; i < 4; i++) {
      const p = await server.json("/polluter");
      assert.equal(p.status, 200);
      assert.deepEqual(p.body, { leak: null, polluted: null, push: 1 });
      const v = await server.json("/victim");
      assert.deepEqual(v.body, { leak: null, polluted: null, push: 1, kv: null });
    }
  });

  await t.step("another contract's KV is out of reach", async () => {
    await server.deploy(
      "kv-owner",
      `import { kv } from "tana:kv"; export async function get() { return await kv.get("secret"); }`,
    );
    // The Store interface has no KV write; insert behind its back, as the ledger would.
    const db = new DatabaseSync(server.store.location);
    try {
      db.prepare("INSERT INTO kv (contract_id, key, value, metadata) VALUES (?, ?, ?, NULL)")
        .run("kv-owner", "secret", "owner-only");
    } finally {
      db.close();
    }
    assert.deepEqual((await server.json("/kv-owner")).body, "owner-only");
    const res = await attack(
      server,
      `import { kv } from "tana:kv";
      import { data } from "tana:data";
      export async function get(req) {
        req.tana.contract.id = "kv-owner";
        const keys = ["secret", "kv-owner:secret", "kv-owner/secret", "../kv-owner/secret", "%", "*", "' OR '1'='1"];
        const got = [];
        for (const k of keys) got.push(await kv.get(k));
        const listed = await kv.list();
        const prefixed = await kv.list({ prefix: "%" });
        const viaData = await data.get("secret");
        return { got, listed: listed.keys.length, prefixed: prefixed.keys.length, viaData: viaData ?? null };
      }`,
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {
      got: [null, null, null, null, null, null, null],
      listed: 0,
      prefixed: 0,
      viaData: null,
    });
  });

  await t.step("kv.put and other writes reject with ReadOnlyError", async () => {
    const res = await attack(
      server,
      `import { kv } from "tana:kv";
      import { data } from "tana:data";
      import { tx } from "tana:tx";
      export async function get() {
        const names = [];
        for (const f of [() => kv.put("k", "v"), () => kv.delete("k"), () => data.set("k", "v"), () => tx.execute()]) {
          try { await f(); names.push("wrote"); } catch (e) { names.push(e.name); }
        }
        return names;
      }`,
    );
    assert.deepEqual(res.body, [
      "ReadOnlyError",
      "ReadOnlyError",
      "ReadOnlyError",
      "ReadOnlyError",
    ]);
    assertContractError(
      await attack(
        server,
        `import { kv } from "tana:kv"; export async function get() { await kv.put("k", "v"); }`,
      ),
      /ReadOnlyError: KV is read-only in edge handlers/,
    );
    assert.deepEqual((await server.json("/kv-owner")).body, "owner-only");
  });

  await assertStillServing(server);
});

hostileTest("contracts cannot start threads or message each other", {}, async (t, server) => {
  await t.step("Worker is unreachable by every path", async () => {
    const res = await attack(
      server,
      `export function get() {
        const g = globalThis;
        const proto = Object.getPrototypeOf(g);
        const found = {
          global: typeof g.Worker,
          self: typeof self.Worker,
          shared: typeof g.SharedWorker,
          proto: typeof proto.Worker,
          ctorProto: typeof g.constructor?.prototype?.Worker,
          chain: [],
        };
        for (let p = proto; p; p = Object.getPrototypeOf(p)) {
          if (Object.getOwnPropertyNames(p).some((n) => /worker$/i.test(n) && n !== "WorkerGlobalScope" && typeof p[n] === "function" && /new|spawn/.test(String(p[n])))) found.chain.push(p.constructor?.name);
        }
        let made = 0;
        for (let i = 0; i < 200; i++) {
          try { new Worker("data:text/javascript,while(true){}", { type: "module" }); made++; } catch {}
        }
        found.made = made;
        return found;
      }`,
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {
      global: "undefined",
      self: "undefined",
      shared: "undefined",
      proto: "undefined",
      ctorProto: "undefined",
      chain: [],
      made: 0,
    });
  });

  await t.step("WebGPU and Web Locks are unavailable", async () => {
    const res = await attack(
      server,
      `export function get() {
        return {
          gpu: typeof navigator.gpu,
          locks: typeof navigator.locks,
          GPU: Object.getOwnPropertyNames(globalThis).filter((name) => /^GPU/i.test(name)),
        };
      }`,
    );
    assert.deepEqual(res.body, { gpu: "undefined", locks: "undefined", GPU: [] });
  });

  await t.step("BroadcastChannel cannot carry messages between requests", async () => {
    await server.deploy(
      "listener",
      `export async function get() {
        const got = [];
        try { const c = new BroadcastChannel("tana"); c.onmessage = (e) => got.push(e.data); }
        catch (e) { return { error: e.name }; }
        await new Promise((r) => setTimeout(r, 300));
        return { got };
      }`,
    );
    await server.deploy(
      "speaker",
      `export function get() {
        try { new BroadcastChannel("tana").postMessage("secret"); return "sent"; }
        catch (e) { return e.name; }
      }`,
    );
    const listening = server.json("/listener");
    await new Promise((r) => setTimeout(r, 100));
    const spoken = await server.json("/speaker");
    const heard = await listening;
    assert.match(String(spoken.body), /^(TypeError|ReferenceError)$/);
    assert.match(String((heard.body as { error?: string }).error), /^(TypeError|ReferenceError)$/);
  });

  await assertStillServing(server);
});

hostileTest("errors never reveal host paths", {}, async (t, server) => {
  await t.step("thrown errors: message and contract location only", async () => {
    const res = await attack(server, `export function get() {\n  throw new TypeError("boom");\n}`);
    assertContractError(res, /^TypeError: boom \(contract\.ts:2:9\)$/);
  });

  await t.step("stacks, call sites and runtime errors a contract can read", async () => {
    const res = await attack(
      server,
      `export async function get() {
        const out = {};
        out.stack = new Error("x").stack;
        Error.prepareStackTrace = (_e, frames) => frames.map((f) => [f.getFileName(), f.getFunctionName()]);
        out.sites = new Error("y").stack;
        Error.prepareStackTrace = undefined;
        try { null.x; } catch (e) { out.type = e.stack; }
        try { await Promise.reject(new Error("z")); } catch (e) { out.async = e.stack; }
        out.location = String(location);
        out.ua = navigator.userAgent;
        return out;
      }`,
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    // assertClean (in attack) checked every field for host paths and internal locations.
  });

  await t.step("uncaught async errors and odd throwables", async () => {
    for (
      const body of [
        `setTimeout(() => { throw new Error("later"); }, 0); await new Promise((r) => setTimeout(r, 100)); return 1;`,
        `Promise.reject(new Error("unhandled")); await new Promise((r) => setTimeout(r, 100)); return 1;`,
        `throw { toString() { return "/work/secret"; } };`,
        `throw Object.create(null);`,
        `throw Symbol("s");`,
        `const e = new Error("m"); Object.defineProperty(e, "stack", { get() { throw new Error("no"); } }); throw e;`,
        `return () => 1;`,
        `return undefined;`,
        `return 10n;`,
        `const a = {}; a.a = a; return a;`,
      ]
    ) {
      const res = await attack(server, `export async function get() { ${body} }`);
      assert.ok(res.status === 200 || res.status === 500, JSON.stringify(res.body));
    }
  });

  await t.step("compile errors name the contract, not the host", async () => {
    const res = await attack(server, `export function get( { return 1 }`);
    assertRejectedAtCompile(res, /contract\.ts/);
  });

  await t.step("forged tana:net responses are validated", async () => {
    for (
      const fields of [
        `status: 101`,
        `status: 99999`,
        `status: 200.5`,
        `status: 200, bodyText: { length: 1 }`,
        `status: 200, headers: { "x-a": { toString() { throw new Error("h"); } } }`,
      ]
    ) {
      const res = await attack(
        server,
        `import { Response } from "tana:net";
        export function get() {
          const brand = Object.getOwnPropertySymbols(Response.json({}))[0];
          return { [brand]: true, headers: {}, bodyText: "{}", ${fields} };
        }`,
      );
      assert.equal(res.body.code, "invalid_response", `${fields}: ${JSON.stringify(res.body)}`);
    }
  });

  await assertStillServing(server);
});

hostileTest(
  "a contract that keeps crashing its sandbox is quarantined",
  // Filling the heap can outlast the suite's 1 s limit on a loaded machine; a timed-out run
  // would then crash the sandbox later, under the next request.
  {
    SANDBOX_PROCESSES: "1",
    REQUEST_TIMEOUT_MS: "5000",
    QUARANTINE_THRESHOLD: "2",
    QUARANTINE_MS: "60000",
  },
  async (t, server) => {
    await server.deploy(
      "crasher",
      `export function get() { const a = []; while (true) a.push(new Array(1e5).fill({ x: 1 })); }`,
    );
    await t.step("crashes count as strikes", async () => {
      for (let i = 0; i < 2; i++) {
        const res = await server.json("/crasher") as Json;
        assert.equal(res.status, 503, JSON.stringify(res.body));
        assert.ok(
          res.body.code === "memory_limit_exceeded" || res.body.code === "sandbox_crashed",
        );
        assertClean(res);
      }
    });
    await t.step("then it is refused without touching a sandbox", async () => {
      await assertStillServing(server);
      const pids = server.supervisor.pids();
      const started = performance.now();
      const res = await server.json("/crasher") as Json;
      assert.equal(res.status, 503);
      assert.equal(res.body.code, "contract_quarantined");
      assert.ok(Number(res.headers.get("retry-after")) > 0);
      assert.ok(performance.now() - started < 500, "answered without running");
      assert.deepEqual(server.supervisor.pids(), pids);
      const metrics = await (await server.get("/metrics")).text();
      assert.match(metrics, /^tana_edge_quarantines_total 1$/m);
    });
    await assertStillServing(server);
  },
);

hostileTest(
  "ordinary requests keep succeeding while hostile contracts run",
  // Room for every ordinary request: this checks isolation, not admission. Hostile runs hold CPU
  // for seconds, so on a slow machine (≈ 40 worker spawns/s per core was seen) ordinary runs
  // queue behind them for longer than the default QUEUE_TIMEOUT_MS, and past QUEUE_SIZE once the
  // queue stands; being shed then as `overloaded` is admission doing its job (tests/sandbox_test.ts).
  {
    SANDBOX_PROCESSES: "2",
    SANDBOX_CONCURRENCY: "16",
    QUEUE_SIZE: "32",
    QUEUE_TIMEOUT_MS: "5000",
    REQUEST_TIMEOUT_MS: "5000",
  },
  async (t, server) => {
    await server.deploy("spinner", `export function get() { while (true) {} }`);
    await server.deploy(
      "timer-storm",
      `export function get() {
        const s = () => { setTimeout(s, 0); for (let i = 0; i < 1e5; i++); };
        s();
        setInterval(() => { for (let i = 0; i < 1e5; i++); }, 0);
        return new Promise(() => {});
      }`,
    );
    await server.deploy(
      "hog",
      `export function get() { const a = []; while (true) a.push(new Array(1e5).fill({ x: 1 })); }`,
    );

    await t.step(
      "during infinite loops and timer storms: every ordinary request is 200",
      async () => {
        const hostile = [...Array(2)].flatMap(
          () => [server.json("/spinner"), server.json("/timer-storm")],
        );
        await new Promise((r) => setTimeout(r, 100));
        const started = performance.now();
        const ordinary = await Promise.all(
          [...Array(20)].map((_, i) => server.json(`/ordinary?q=${i}`)),
        );
        const ms = performance.now() - started;
        ordinary.forEach((res, i) => {
          assert.equal(res.status, 200, JSON.stringify(res.body));
          assert.deepEqual(res.body, { ok: true, sum: 6, q: String(i) });
        });
        // Two cores, four busy hostile threads: slower, but never waiting for a hostile run to end.
        assert.ok(ms < 2500, `ordinary requests took ${Math.round(ms)} ms`);
        for (const res of await Promise.all(hostile)) assert.equal(res.body.code, "timeout");
      },
    );

    await t.step(
      "during an out-of-memory crash: failures are 503 with Retry-After, then 200",
      async () => {
        const hog = server.json("/hog");
        const ordinary = await Promise.all([...Array(20)].map(async (_, i) => {
          await new Promise((r) => setTimeout(r, i * 20));
          return await server.json(`/ordinary?q=${i}`);
        }));
        const crashed = await hog;
        assert.equal(crashed.status, 503);
        for (const res of ordinary) {
          if (res.status === 200) continue;
          // Only requests in flight in the dying sandbox may fail, and they say so.
          assert.equal(res.status, 503, JSON.stringify(res.body));
          assert.ok(
            ["memory_limit_exceeded", "sandbox_crashed"].includes(String(res.body.code)),
            JSON.stringify(res.body),
          );
          assert.ok(res.headers.get("retry-after"));
        }
        assert.ok(ordinary.filter((r) => r.status === 200).length >= 10, "most requests succeeded");
        await assertStillServing(server);
      },
    );
  },
);
