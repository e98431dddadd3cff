/**
 * End to end over HTTP: a real server, real sandbox processes and workers, SQLite and Postgres.
 */
import assert from "node:assert/strict";
import { startTestServer, STORES, type TestServer } from "./_server.ts";

const HELLO = `export function get() { return { message: "hello" }; }`;

const OLD_STYLE = `
import { Request, Response } from "tana/net";
export async function Get(req: Request) {
  if (!req.query.id) return Response.json({ error: "Missing id" }, 400);
  return Response.json({ id: req.query.id }, 201, { "x-contract": "old" });
}
export async function Post(req: Request, body: unknown) {
  return Response.json({ got: body, same: req.body });
}`;

const ECHO = `
export function get(req: any) {
  return { method: req.method, path: req.path, params: req.params, query: req.query,
    header: req.headers["x-test"], contract: req.tana.contract.id, name: req.tana.contract.name,
    caller: req.tana.caller, url: req.url };
}
export function post(req: any, body: unknown) { return { body, same: req.body === body || JSON.stringify(req.body) === JSON.stringify(body) }; }`;

const KV_READER = `
import { kv } from "tana:kv";
export async function get(req: { query: Record<string, string> }) {
  const value = await kv.get(req.query.key);
  const listed = await kv.list({ prefix: "item:" });
  let putError = null;
  try { await kv.put("x", "y"); } catch (e) { putError = (e as Error).name + ": " + (e as Error).message; }
  return { value, keys: listed.keys.map((k) => k.name), complete: listed.list_complete, putError };
}`;

const LEAKY = `
export function get() {
  const seen = (globalThis as any).counter ?? 0;
  (globalThis as any).counter = seen + 1;
  (Object.prototype as any).leak = "yes";
  return { seen, leak: ({} as any).leak ?? null };
}`;

const LOGGER = `
export function get() { console.log("visible in logs", { n: 1 }); console.error("bad"); return { ok: true }; }`;

for (const kind of STORES) {
  Deno.test(`HTTP API on ${kind}`, async (t) => {
    const server = await startTestServer({ REQUEST_TIMEOUT_MS: "1000" }, kind);
    try {
      await server.deploy("hello", HELLO);
      await server.deploy("old-style", OLD_STYLE);
      await server.deploy("echo", ECHO, { name: "echo-by-name" });
      await server.deploy("kv-reader", KV_READER);
      await server.deploy("leaky", LEAKY);
      await server.deploy("logger", LOGGER);
      await server.deploy("sleeper", `export function get() { while (true) {} }`);
      await server.deploy("thrower", `export function get() {\n  throw new Error("boom");\n}`);
      await server.deploy(
        "forbidden",
        `import fs from "node:fs";\nexport function get() { return 1; }`,
      );
      await server.deploy("broken", `export function get( { return 1 }`);
      await server.deploy("undef", `export function get() { return undefined; }`);
      await server.deploy("fn", `export function get() { return { f() {} }; }`);
      await server.deploy("inactive", HELLO, { isActive: false });
      await server.deploy(
        "no-content",
        `import { Response } from "tana:net"; export function get() { return Response.text("ignored", 204); }`,
      );

      await t.step("GET returns the handler's JSON with 200 and a request id", async () => {
        const res = await server.json("/hello");
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, { message: "hello" });
        assert.match(res.headers.get("content-type")!, /application\/json/);
        assert.ok(res.headers.get("x-request-id"));
      });

      await t.step("a 204 from the contract is sent without a body", async () => {
        const res = await server.get("/no-content");
        assert.equal(res.status, 204);
        assert.equal(await res.text(), "");
      });

      await t.step("X-Request-Id from the client is echoed", async () => {
        const res = await server.json("/nope", { headers: { "x-request-id": "req-123" } });
        assert.equal(res.headers.get("x-request-id"), "req-123");
        assert.equal(res.body.requestId, "req-123");
      });

      await t.step("the handler receives the request object", async () => {
        const res = await server.json("/echo/a/b%20c?x=1&y=two", { headers: { "x-test": "t" } });
        assert.equal(res.status, 200);
        assert.equal(res.body.method, "GET");
        assert.equal(res.body.path, "/a/b%20c");
        assert.deepEqual(res.body.params, ["a", "b c"]);
        assert.deepEqual(res.body.query, { x: "1", y: "two" });
        assert.equal(res.body.header, "t");
        assert.equal(res.body.contract, "echo");
        assert.equal(res.body.caller, null);
      });

      await t.step("a contract is found by name too", async () => {
        const res = await server.json("/echo-by-name");
        assert.equal(res.status, 200);
        assert.equal(res.body.contract, "echo");
      });

      await t.step("POST passes the JSON body as req.body and second argument", async () => {
        const res = await server.json("/echo", {
          method: "POST",
          body: JSON.stringify({ a: [1, 2] }),
          headers: { "content-type": "application/json" },
        });
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, { body: { a: [1, 2] }, same: true });
      });

      await t.step("older Get/Post handlers with Response.json from tana/net", async () => {
        const missing = await server.json("/old-style");
        assert.equal(missing.status, 400);
        assert.deepEqual(missing.body, { error: "Missing id" });
        const ok = await server.json("/old-style?id=7");
        assert.equal(ok.status, 201);
        assert.equal(ok.headers.get("x-contract"), "old");
        assert.deepEqual(ok.body, { id: "7" });
        const post = await server.json("/old-style", { method: "POST", body: '{"k":1}' });
        assert.deepEqual(post.body, { got: { k: 1 }, same: { k: 1 } });
      });

      await t.step("KV reads work and writes reject with ReadOnlyError", async () => {
        await server.putKv("kv-reader", { "item:1": "one", "item:2": "two", "other": "x" });
        await server.putKv("hello", { "item:secret": "not yours" });
        const res = await server.json("/kv-reader?key=item:1");
        assert.equal(res.status, 200);
        assert.equal(res.body.value, "one");
        assert.deepEqual(res.body.keys, ["item:1", "item:2"]);
        assert.equal(res.body.complete, true);
        assert.match(res.body.putError, /^ReadOnlyError: KV is read-only in edge handlers/);
        const missing = await server.json("/kv-reader?key=nothing");
        assert.equal(missing.body.value, null);
      });

      await t.step("unknown and inactive contracts are 404", async () => {
        for (const path of ["/nope", "/inactive"]) {
          const res = await server.json(path);
          assert.equal(res.status, 404);
          assert.equal(res.body.code, "contract_not_found");
          assert.ok(res.body.requestId);
        }
      });

      await t.step("a missing handler is 405 with Allow", async () => {
        const res = await server.json("/hello", { method: "POST", body: "{}" });
        assert.equal(res.status, 405);
        assert.equal(res.body.code, "method_not_allowed");
        assert.equal(res.headers.get("allow"), "GET, OPTIONS");
        const put = await server.json("/hello", { method: "PUT" });
        assert.equal(put.status, 405);
      });

      await t.step("bad JSON and bad ids are 400", async () => {
        const bad = await server.json("/echo", { method: "POST", body: "{nope" });
        assert.equal(bad.status, 400);
        assert.equal(bad.body.code, "invalid_json");
        const id = await server.json("/bad%24id");
        assert.equal(id.status, 400);
        assert.equal(id.body.code, "invalid_contract_id");
        const long = await server.json("/" + "a".repeat(200));
        assert.equal(long.body.code, "invalid_contract_id");
      });

      await t.step("a body over 1 MiB is 413", async () => {
        const res = await server.json("/echo", {
          method: "POST",
          body: JSON.stringify("x".repeat(1024 * 1024)),
        });
        assert.equal(res.status, 413);
        assert.equal(res.body.code, "body_too_large");
      });

      await t.step("a thrown error is 500 with its message and no host detail", async () => {
        const res = await server.json("/thrower");
        assert.equal(res.status, 500);
        assert.equal(res.body.code, "contract_error");
        assert.match(res.body.error, /^Error: boom \(contract\.ts:2:9\)$/);
        assert.doesNotMatch(JSON.stringify(res.body), /file:|blob:|\/work\/|\/tmp\/|\s{4}at /);
      });

      await t.step("non-JSON results are contract errors", async () => {
        const undef = await server.json("/undef");
        assert.equal(undef.status, 500);
        assert.equal(undef.body.code, "invalid_response");
        assert.match(undef.body.error, /undefined/);
        const fn = await server.json("/fn");
        assert.equal(fn.body.code, "invalid_response");
        assert.match(fn.body.error, /function/);
      });

      await t.step("forbidden imports and syntax errors are 500 compile_error", async () => {
        const forbidden = await server.json("/forbidden");
        assert.equal(forbidden.status, 500);
        assert.equal(forbidden.body.code, "compile_error");
        assert.match(forbidden.body.error, /forbidden import "node:fs" \(line 1\)/);
        const broken = await server.json("/broken");
        assert.equal(broken.status, 500);
        assert.equal(broken.body.code, "compile_error");
      });

      await t.step("the wall-clock limit is 504", async () => {
        const res = await server.json("/sleeper");
        assert.equal(res.status, 504);
        assert.equal(res.body.code, "timeout");
        assert.equal((await server.json("/hello")).status, 200);
      });

      await t.step("state does not leak between requests", async () => {
        for (let i = 0; i < 3; i++) {
          const res = await server.json("/leaky");
          assert.deepEqual(res.body, { seen: 0, leak: "yes" });
        }
        assert.equal((await server.json("/hello")).body.message, "hello");
      });

      await t.step("contract console output does not break the response", async () => {
        const res = await server.json("/logger");
        assert.deepEqual(res.body, { ok: true });
      });

      await t.step("health, ready, metrics and CORS preflight", async () => {
        assert.deepEqual((await server.json("/health")).body, { status: "ok" });
        const ready = await server.json("/ready");
        assert.equal(ready.status, 200);
        assert.equal(ready.body.store.kind, kind);
        const metrics = await (await server.get("/metrics")).text();
        assert.match(
          metrics,
          /tana_edge_http_requests_total\{method="GET",route="contract",status="200"\} \d+/,
        );
        assert.match(metrics, /tana_edge_http_request_duration_seconds_bucket/);
        assert.match(metrics, /tana_edge_compile_cache_total\{result="hit"\} \d+/);
        assert.match(metrics, /tana_edge_compile_cache_total\{result="miss"\} \d+/);
        const preflight = await server.get("/hello", {
          method: "OPTIONS",
          headers: { origin: "https://app.example", "access-control-request-method": "POST" },
        });
        await preflight.body?.cancel();
        assert.equal(preflight.status, 204);
        assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
        assert.match(preflight.headers.get("access-control-allow-methods")!, /POST/);
        // A made-up method is answered but adds no label series of its own.
        const odd = await server.get("/hello", { method: "FROB1" });
        await odd.body?.cancel();
        const after = await (await server.get("/metrics")).text();
        assert.doesNotMatch(after, /FROB1/);
        assert.match(after, /tana_edge_http_requests_total\{method="other",route="contract"/);
      });

      await t.step("workers are spawned per request (metric grows)", async () => {
        const spawns = async () => (await server.metric("tana_edge_worker_spawns_total")) || 0;
        for (let i = 0; i < 5; i++) await server.json("/hello");
        await new Promise((r) => setTimeout(r, 1200)); // sandboxes report once a second
        assert.ok((await spawns()) >= 5);
      });
    } finally {
      await server.close();
    }
  });
}

Deno.test("a large result streams back intact", async () => {
  const server: TestServer = await startTestServer();
  try {
    await server.deploy(
      "big",
      `export function get() { return { items: Array.from({ length: 20000 }, (_, i) => ({ i, s: "v" + i })) }; }`,
    );
    const res = await server.json("/big");
    assert.equal(res.status, 200);
    assert.equal(res.body.items.length, 20000);
    assert.deepEqual(res.body.items[19999], { i: 19999, s: "v19999" });
  } finally {
    await server.close();
  }
});

Deno.test("the embedded store's contract rows are cached and follow every connection's writes", async () => {
  const server = await startTestServer({ NEGATIVE_CACHE_TTL_MS: "60000" });
  const version = (v: number) => `export function get() { return { v: ${v} }; }`;
  try {
    await server.deploy("live", version(1));
    const store = server.store;
    const find = store.findContract.bind(store);
    let lookups = 0;
    store.findContract = (key) => {
      lookups++;
      return find(key);
    };
    for (let i = 0; i < 5; i++) assert.deepEqual((await server.json("/live")).body, { v: 1 });
    assert.equal(lookups, 1, "the row is read once, not on every request");

    // Another connection, as `contracts deploy` from another process would be.
    await server.sql(
      "UPDATE contracts SET source = $1, code_hash = $2, version = 2 WHERE id = $3",
      version(2),
      "hash-2",
      "live",
    );
    assert.deepEqual((await server.json("/live")).body, { v: 2 });
    await server.deploy("live", version(3)); // this server's own connection
    assert.deepEqual((await server.json("/live")).body, { v: 3 });
    await server.sql("UPDATE contracts SET is_active = 0 WHERE id = $1", "live");
    assert.equal((await server.json("/live")).status, 404);

    // An unknown id is remembered, but only until something is deployed.
    assert.equal((await server.json("/later")).status, 404);
    await server.sql(
      "INSERT INTO contracts (id, name, owner, source, code_hash) VALUES ($1, $2, $3, $4, $5)",
      "later",
      "later",
      "usr_test",
      version(4),
      "hash-4",
    );
    assert.deepEqual((await server.json("/later")).body, { v: 4 });
  } finally {
    await server.close();
  }
});
