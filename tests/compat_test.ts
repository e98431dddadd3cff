/**
 * Compatibility suite: contracts written the way the public Tana docs write them (both
 * generations: `get`/`post` returning JSON with `tana:*` imports, and the older `Get`/`Post`
 * returning `Response.json` with `tana/*` imports), exercising every function of every module of
 * `contract-api.md`, end to end over HTTP against SQLite and Postgres, with exact answers.
 *
 * Chain data is the seed chain (`SEED`): the embedded SQLite store loads it at start, the
 * Postgres test database gets it through the store's `seed` (both start with an empty chain).
 */
import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { SEED, type SeedableStore } from "../src/store/seed.ts";
import type { Block, Transaction, User } from "../src/store/types.ts";
import { startTestServer, STORES, type TestServer } from "./_server.ts";

// ---------------------------------------------------------------------------------------------
// Expected chain data

const USERS = new Map(SEED.users.map((u) => [u.id, u]));
const user = (id: string): User => USERS.get(id)!;
const block = (height: number): Block => SEED.blocks[height];
const tx = (id: string): Transaction => SEED.transactions.find((t) => t.id === id)!;
const LATEST = SEED.blocks[SEED.blocks.length - 1];

// ---------------------------------------------------------------------------------------------
// Helpers

/** `contract.ts:LINE:COL` of `needle` (plus `offset` characters) in a contract's source. */
function at(source: string, needle: string, offset = 0): string {
  const index = source.indexOf(needle);
  assert.ok(index >= 0, `${JSON.stringify(needle)} is not in the source`);
  assert.equal(source.indexOf(needle, index + 1), -1, `${JSON.stringify(needle)} is ambiguous`);
  const position = index + offset;
  const before = source.slice(0, position);
  return `contract.ts:${before.split("\n").length}:${position - before.lastIndexOf("\n")}`;
}

/** Asserts a 500 `contract_error` and returns its message. */
async function contractError(server: TestServer, path: string, init?: RequestInit) {
  const res = await server.json(path, init);
  assert.equal(res.status, 500, JSON.stringify(res.body));
  assert.equal(res.body.code, "contract_error");
  assert.equal(res.body.requestId, res.headers.get("x-request-id"));
  return res.body.error as string;
}

/** A JSON POST. */
function post(body: unknown): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  };
}

/** Asserts 200 with a JSON body and returns the body. */
async function ok(server: TestServer, path: string, init?: RequestInit) {
  const res = await server.json(path, init);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  return res.body;
}

// ---------------------------------------------------------------------------------------------
// The upstream `tana:utils` fetch talks to: a local server on 127.0.0.1 (allow-listed) that is
// also reachable as `localhost` (not allow-listed), so a blocked request that went out anyway
// would be counted.

interface Upstream {
  base: string;
  port: number;
  /** Requests that reached `/secret`. */
  secretHits: number;
  /** Requests seen, as `METHOD /path body-length`. */
  seen: string[];
  close(): Promise<void>;
}

function startUpstream(): Upstream {
  const state = { secretHits: 0, seen: [] as string[] };
  let port = 0;
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
  }, async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const body = await req.text();
    state.seen.push(`${req.method} ${url.pathname} ${body.length}`);
    switch (url.pathname) {
      case "/echo":
        return Response.json({
          method: req.method,
          custom: req.headers.get("x-custom"),
          second: req.headers.get("x-second"),
          contentType: req.headers.get("content-type"),
          body,
        }, { status: 201, headers: { "x-upstream": "yes", "set-cookie": "a=1" } });
      case "/text":
        return new Response("plain text ü", {
          headers: { "content-type": "text/plain; charset=utf-8" },
        });
      case "/bytes":
        return new Response(new Uint8Array([0, 1, 2, 253, 254, 255]), {
          headers: { "content-type": "application/octet-stream" },
        });
      case "/missing":
        return new Response("nope", { status: 404 });
      case "/redirect-local":
        return new Response(null, { status: 302, headers: { location: "/text" } });
      case "/redirect-blocked":
        return new Response(null, {
          status: 302,
          headers: { location: `http://localhost:${port}/secret` },
        });
      case "/redirect-303":
        return new Response(null, { status: 303, headers: { location: "/echo" } });
      case "/redirect-307":
        return new Response(null, { status: 307, headers: { location: "/echo" } });
      case "/secret":
        state.secretHits++;
        return new Response("secret");
      case "/big":
        return new Response("x".repeat(4096));
      case "/big-stream": {
        let sent = 0;
        return new Response(
          new ReadableStream({
            pull(controller) {
              if (sent++ === 8) controller.close();
              else controller.enqueue(new TextEncoder().encode("y".repeat(512)));
            },
          }),
        );
      }
      case "/exact":
        return new Response("z".repeat(1024));
      case "/slow":
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 3000);
          req.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve();
          });
        });
        return new Response("late");
      default:
        return new Response("no route", { status: 404 });
    }
  });
  port = server.addr.port;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    get secretHits() {
      return state.secretHits;
    },
    get seen() {
      return state.seen;
    },
    close: () => server.shutdown(),
  };
}

// ---------------------------------------------------------------------------------------------
// Contracts. Each is deployed under its id; the source is kept for error locations.

// tana:kv, current generation.
const KV = `import { kv } from "tana:kv";
import type { Request } from "tana:net";

export async function get(req: Request) {
  const { op, key, prefix, cursor, limit } = req.query;
  if (op === "text") {
    return {
      plain: await kv.get(key),
      text: await kv.get(key, "text"),
      textOption: await kv.get(key, { type: "text" }),
    };
  }
  if (op === "json") {
    return { json: await kv.get(key, "json"), jsonOption: await kv.get(key, { type: "json" }) };
  }
  if (op === "json-uncaught") return { value: await kv.get(key, "json") };
  if (op === "json-caught") {
    try {
      return { value: await kv.get(key, "json") };
    } catch (e) {
      return { name: (e as Error).name, message: (e as Error).message };
    }
  }
  if (op === "bytes") {
    const buffer = await kv.get(key, "arrayBuffer");
    const option = await kv.get(key, { type: "arrayBuffer" });
    return {
      isArrayBuffer: buffer instanceof ArrayBuffer,
      bytes: buffer === null ? null : Array.from(new Uint8Array(buffer)),
      optionBytes: option === null ? null : Array.from(new Uint8Array(option)),
    };
  }
  if (op === "meta") {
    const text = await kv.getWithMetadata(key);
    const json = await kv.getWithMetadata(key, "json");
    const bytes = await kv.getWithMetadata(key, { type: "arrayBuffer" });
    return {
      text,
      json,
      bytes: {
        value: bytes.value === null ? null : Array.from(new Uint8Array(bytes.value)),
        metadata: bytes.metadata,
      },
    };
  }
  if (op === "meta-text") return await kv.getWithMetadata(key);
  if (op === "list") {
    return await kv.list({ prefix, cursor, limit: limit === undefined ? undefined : Number(limit) });
  }
  if (op === "list-all") return await kv.list();
  if (op === "walk") {
    const names: string[] = [];
    const pages: boolean[] = [];
    let next: string | undefined;
    do {
      const page = await kv.list({ prefix, limit: Number(limit), cursor: next });
      names.push(...page.keys.map((k) => k.name));
      pages.push(page.list_complete);
      next = page.list_complete ? undefined : page.cursor;
    } while (next);
    return { names, pages };
  }
  if (op === "writes") {
    const errors: string[] = [];
    for (const write of [() => kv.put("count", "1"), () => kv.delete("greeting")]) {
      try {
        await write();
        errors.push("no error");
      } catch (e) {
        errors.push((e as Error).name + ": " + (e as Error).message);
      }
    }
    return { errors, stillThere: await kv.get("greeting") };
  }
  if (op === "invalid") {
    const errors: string[] = [];
    const attempts = [
      () => kv.get(""),
      () => kv.get("x".repeat(513)),
      () => kv.get("greeting", "stream" as "text"),
      () => kv.list({ limit: 0 }),
      () => kv.list({ cursor: "not a cursor!" }),
    ];
    for (const attempt of attempts) {
      try {
        await attempt();
        errors.push("no error");
      } catch (e) {
        errors.push((e as Error).name + ": " + (e as Error).message);
      }
    }
    const clamped = await kv.list({ prefix: "page:", limit: 5000 });
    return { errors, clamped: [clamped.keys.length, clamped.list_complete] };
  }
  if (op === "put-uncaught") {
    await kv.put("count", "1");
    return { written: true };
  }
  return { error: "unknown op" };
}
`;

// tana/kv, older generation (Get/Post, Response.json).
const KV_OLD = `import { Request, Response } from "tana/net";
import { kv } from "tana/kv";

export async function Get(req: Request) {
  const key = req.query.key;
  if (!key) return Response.json({ error: "Missing key" }, 400);
  const value = await kv.get(key);
  if (value === null) return Response.json({ error: "Key not found", key }, 404);
  return Response.json({ key, value });
}

export async function Post(req: Request, body: { keys: string[] }) {
  const values: Record<string, unknown> = {};
  for (const key of body.keys) values[key] = await kv.get(key, "json");
  return Response.json({ values }, 200, { "x-count": String(body.keys.length) });
}
`;

// Another contract's storage, readable by that contract only.
const KV_OTHER = `import kv from "tana:kv";
export async function get() {
  return { secret: await kv.get("secret"), keys: (await kv.list()).keys.map((k) => k.name) };
}
`;

// tana:block, current generation: properties in GET, any query function in POST.
const BLOCK = `import { block } from "tana:block";
import type { Request } from "tana:net";

export function get(req: Request) {
  return {
    height: block.height,
    timestamp: block.timestamp,
    hash: block.hash,
    previousHash: block.previousHash,
    producer: block.producer,
    executor: block.executor,
    gasLimit: block.gasLimit,
    gasUsed: block.gasUsed,
    MAX_BATCH_QUERY: block.MAX_BATCH_QUERY,
  };
}

export async function post(req: Request, body: { call: string; args: unknown[]; caught?: boolean }) {
  const fn = (block as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[body.call];
  if (!body.caught) return { result: await fn(...body.args) };
  try {
    return { result: await fn(...body.args) };
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
}
`;

// tana/block, older generation: getters and the user-lookup pattern of the docs.
const BLOCK_OLD = `import { Request, Response } from "tana/net";
import { block } from "tana/block";

export async function Get(req: Request) {
  if (req.query.id) {
    const user = await block.getUser(req.query.id);
    if (!user) return Response.json({ error: "User not found" }, 404);
    return Response.json({ user, usd: await block.getBalance(user.id, "USD") });
  }
  return Response.json({
    height: block.getHeight(),
    timestamp: block.getTimestamp(),
    hash: block.getHash(),
    previousHash: block.getPreviousHash(),
    executor: block.getExecutor(),
    contractId: block.getContractId(),
    gasLimit: block.getGasLimit(),
    gasUsed: block.getGasUsed(),
  });
}

export async function Post(req: Request, body: { ids: string[] }) {
  const users = await block.getUser(body.ids);
  return Response.json({ users: users.map((u) => u && u.username) });
}
`;

// tana:context, both generations.
const CONTEXT = `import { context } from "tana:context";
import type { Request } from "tana:net";

export function get(req: Request) {
  return {
    owner: context.owner(),
    caller: context.caller(),
    block: context.block(),
    input: context.input(),
    sameCaller: context.caller() === req.tana.caller,
  };
}

export function post(req: Request, body: unknown) {
  return { owner: context.owner(), input: context.input(), body };
}
`;

const CONTEXT_OLD = `import { Request, Response } from "tana/net";
import { context } from "tana/context";

export function Get(req: Request) {
  return Response.json({ owner: context.owner(), input: context.input(), block: context.block() });
}

export function Post(req: Request, body: unknown) {
  return Response.json({ input: context.input(), caller: context.caller() }, 202);
}
`;

// tana:core, both generations.
const CORE = `import { console, version } from "tana:core";
import type { Request } from "tana:net";

export function get(req: Request) {
  if (req.query.flood) {
    for (let i = 1; i <= 10; i++) console.log("line " + i);
    return { flooded: true };
  }
  console.log("log line", { n: 1 });
  console.info("info line");
  console.warn("warn line", [1, 2]);
  console.error("error line", new Error("oops"));
  console.debug("debug line", null, 3);
  return { version: { ...version }, tana: version.tana };
}
`;

const CORE_OLD = `import { Request, Response } from "tana/net";
import core from "tana/core";

export function Get(req: Request) {
  core.console.log("old style");
  console.log("global console");
  return Response.json({ version: JSON.parse(JSON.stringify(core.version)) });
}
`;

// tana:utils fetch, current generation.
const FETCH = `import { fetch } from "tana:utils";
import type { Request } from "tana:net";

export async function get(req: Request) {
  const { op, base } = req.query;
  if (op === "echo") {
    const res = await fetch(base + "/echo", {
      method: "post",
      headers: { "X-Custom": "abc", "content-type": "application/json" },
      body: JSON.stringify({ n: 1 }),
    });
    const headers: [string, string][] = [];
    res.headers.forEach((value, name) => headers.push([name, value]));
    return {
      ok: res.ok,
      status: res.status,
      statusText: res.statusText,
      url: res.url,
      upstream: res.headers.get("X-Upstream"),
      hasUpstream: res.headers.has("x-upstream"),
      hasNothing: res.headers.has("x-nothing"),
      nothing: res.headers.get("x-nothing"),
      headerNames: headers.map(([name]) => name).filter((n) => n.startsWith("x-") || n === "content-type"),
      entries: [...res.headers.entries()].length === headers.length,
      json: await res.json(),
      text: await res.text(),
    };
  }
  if (op === "pairs") {
    const res = await fetch(new URL("/echo", base), {
      method: "PUT",
      headers: [["x-custom", "from-pairs"], ["x-second", "2"]],
      body: new TextEncoder().encode("raw bytes"),
    });
    return await res.json();
  }
  if (op === "text") {
    const res = await fetch(base + "/text");
    let jsonError = null;
    try {
      await res.json();
    } catch (e) {
      jsonError = (e as Error).name + ": " + (e as Error).message;
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    return { ok: res.ok, status: res.status, text: await res.text(), length: bytes.length, jsonError };
  }
  if (op === "bytes") {
    const res = await fetch(base + "/bytes");
    const buffer = await res.arrayBuffer();
    return { isArrayBuffer: buffer instanceof ArrayBuffer, bytes: Array.from(new Uint8Array(buffer)) };
  }
  if (op === "missing") {
    const res = await fetch(base + "/missing");
    return { ok: res.ok, status: res.status, statusText: res.statusText, text: await res.text() };
  }
  if (op === "redirect") {
    const res = await fetch(base + "/redirect-local");
    return { status: res.status, url: res.url, text: await res.text() };
  }
  if (op === "redirect-303" || op === "redirect-307") {
    const res = await fetch(base + "/" + op, { method: "POST", body: "payload" });
    return { status: res.status, url: res.url, json: await res.json() };
  }
  if (op === "get") return { text: await (await fetch(req.query.url)).text() };
  if (op === "count") {
    let done = 0;
    try {
      for (let i = 0; i < 5; i++) {
        await fetch(base + "/text");
        done++;
      }
    } catch (e) {
      return { done, error: (e as Error).name + ": " + (e as Error).message };
    }
    return { done, error: null };
  }
  if (op === "invalid") {
    const errors: string[] = [];
    const attempts = [
      () => fetch("ftp://127.0.0.1/x"),
      () => fetch("not a url"),
      () => fetch(base + "/echo", { method: "GET", body: "x" }),
      () => (globalThis.fetch as (url: string) => Promise<unknown>)(base + "/text"),
    ];
    for (const attempt of attempts) {
      try {
        await attempt();
        errors.push("no error");
      } catch (e) {
        errors.push((e as Error).name + ": " + (e as Error).message);
      }
    }
    return { errors };
  }
  return { error: "unknown op" };
}
`;

// tana/utils, older generation.
const FETCH_OLD = `import { Request, Response } from "tana/net";
import { fetch } from "tana/utils";

export async function Post(req: Request, body: { url: string }) {
  const res = await fetch(body.url);
  return Response.json({ status: res.status, body: await res.text() }, res.ok ? 200 : 502);
}
`;

// tana:net, current generation.
const NET = `import { Response } from "tana:net";
import type { Request } from "tana:net";

export function get(req: Request) {
  switch (req.query.as) {
    case "text":
      return Response.text("plain body", 202, { "x-kind": "text" });
    case "json-init":
      return Response.json({ a: [1, 2] }, { status: 201, headers: { "x-kind": "json" } });
    case "new":
      return new Response("<b>hi</b>", { status: 203, headers: { "content-type": "text/html" } });
    case "bad-status":
      return Response.json({}, 99);
    default:
      return Response.json({ error: "Not found" }, 404, [["x-kind", "pairs"]]);
  }
}
`;

// tana/net, older generation, with the JsonValue placeholder imported as older contracts do.
const NET_OLD = `import { Request, Response, JsonValue } from "tana/net";

export function Get(req: Request) {
  return Response.text("v=" + String(JsonValue) + " " + String(Request), { status: 200 });
}
`;

// tana/tx, older generation.
const TX = `import { Request, Response } from "tana/net";
import { tx } from "tana/tx";

export async function Get(req: Request) {
  tx.transfer("usr_alice", "usr_bob", 25, "USD");
  tx.setBalance("usr_carol", 100, "TANA");
  const staged = tx.getChanges();
  staged[0].amount = 999; // a copy: the staged change is unaffected
  let error = null;
  try {
    await tx.execute();
  } catch (e) {
    error = { name: (e as Error).name, message: (e as Error).message };
  }
  const invalid: string[] = [];
  for (const bad of [
    () => tx.transfer("usr_alice", "usr_alice", 1, "USD"),
    () => tx.transfer("usr_alice", "usr_bob", 0, "USD"),
    () => tx.setBalance("usr_bob", -1, "USD"),
  ]) {
    try {
      bad();
      invalid.push("no error");
    } catch (e) {
      invalid.push((e as Error).name + ": " + (e as Error).message);
    }
  }
  return Response.json({ staged: tx.getChanges(), error, invalid });
}

export async function Post(req: Request, body: { amount: number }) {
  tx.transfer("usr_alice", "usr_bob", body.amount, "USD");
  return Response.json(await tx.execute());
}
`;

// tana:tx, current generation.
const TX_NEW = `import { tx } from "tana:tx";
export function get() {
  tx.transfer("usr_erin", "usr_dave", 1.5, "TANA");
  return { wouldApply: tx.getChanges() };
}
`;

// tana/data, older generation.
const DATA = `import { Request, Response } from "tana/net";
import { data } from "tana/data";

export async function Get(req: Request) {
  const errors: Record<string, string> = {};
  const writes: [string, () => Promise<void>][] = [
    ["set", () => data.set("k", "v")],
    ["delete", () => data.delete("config")],
    ["clear", () => data.clear()],
    ["commit", () => data.commit()],
  ];
  for (const [name, write] of writes) {
    try {
      await write();
      errors[name] = "no error";
    } catch (e) {
      errors[name] = (e as Error).name + ": " + (e as Error).message;
    }
  }
  return Response.json({
    config: await data.get("config"),
    list: await data.get("user:2"),
    note: await data.get("note"),
    missing: await data.get("missing"),
    hasNote: await data.has("note"),
    hasMissing: await data.has("missing"),
    keys: await data.keys(),
    userKeys: await data.keys("user:*"),
    oneChar: await data.keys("user:?"),
    entries: await data.entries(),
    limits: [data.MAX_KEY_SIZE, data.MAX_VALUE_SIZE, data.MAX_TOTAL_SIZE, data.MAX_KEYS],
    errors,
    stillThere: await data.get("config"),
  });
}
`;

// tana:data, current spelling.
const DATA_NEW = `import { data } from "tana:data";
export async function get() {
  return { keys: await data.keys(), secret: await data.has("secret") };
}
`;

const CONTRACTS: Record<string, [string, string?]> = {
  "compat-kv": [KV],
  "compat-kv-old": [KV_OLD],
  "compat-other": [KV_OTHER],
  "compat-block": [BLOCK],
  "compat-block-old": [BLOCK_OLD],
  "compat-context": [CONTEXT, "usr_carol"],
  "compat-context-old": [CONTEXT_OLD, "usr_dave"],
  "compat-core": [CORE],
  "compat-core-old": [CORE_OLD],
  "compat-fetch": [FETCH],
  "compat-fetch-old": [FETCH_OLD],
  "compat-net": [NET],
  "compat-net-old": [NET_OLD],
  "compat-tx": [TX],
  "compat-tx-new": [TX_NEW],
  "compat-data": [DATA],
  "compat-data-new": [DATA_NEW],
};

const PAGE_KEYS = Array.from({ length: 25 }, (_, i) => `page:${String(i).padStart(2, "0")}`);

const KV_ROWS: Record<string, string | [string, unknown]> = {
  greeting: "Hello, edge",
  empty: "",
  profile: [JSON.stringify({ name: "Ada", tags: ["x", "y"] }), { contentType: "json", rev: 3 }],
  broken: "{not json",
  word: "hello",
  number: "42",
  bytes: "héllo",
  "100%": "percent",
  "100%done": "percent done",
  "100_": "underscore",
  "100a": "letter",
  "a\\b": "backslash",
  ...Object.fromEntries(
    PAGE_KEYS.map((key, i) => [key, i % 5 === 0 ? [`v${i}`, { n: i }] : `v${i}`]),
  ),
};

const OTHER_ROWS: Record<string, string> = {
  secret: "other's secret",
  "page:99": "other page",
  greeting: "other greeting",
};

const DATA_ROWS: Record<string, string> = {
  config: JSON.stringify({ theme: "dark", max: 5 }),
  "user:1": "Ann",
  "user:2": JSON.stringify(["a", "b"]),
  "user:10": "Ten",
  note: "plain text",
};

// ---------------------------------------------------------------------------------------------

const ENV = {
  FETCH_ALLOW_HOSTS: "127.0.0.1",
  FETCH_MAX_BYTES: "1024",
  MAX_FETCHES: "3",
  FETCH_TIMEOUT_MS: "750",
  MAX_LOG_LINES: "6",
};

for (const kind of STORES) {
  Deno.test(`compatibility suite on ${kind}`, async (t) => {
    const upstream = startUpstream();
    const server = await startTestServer(ENV, kind);
    try {
      // SQLite seeded itself at start; the Postgres test database starts empty.
      const seeded = await (server.store as SeedableStore).seed(SEED);
      assert.equal(seeded, kind === "postgres");
      for (const [id, [source, owner]] of Object.entries(CONTRACTS)) {
        await server.deploy(id, source, { owner: owner ?? "usr_test" });
      }
      await server.putKv("compat-kv", KV_ROWS);
      await server.putKv("compat-kv-old", { greeting: KV_ROWS.greeting, profile: KV_ROWS.profile });
      await server.putKv("compat-other", OTHER_ROWS);
      await server.putKv("compat-data", DATA_ROWS);
      await server.putKv("compat-data-new", { secret: "mine" });

      await kvSteps(t, server);
      await blockSteps(t, server);
      await contextSteps(t, server);
      await coreSteps(t, server);
      await fetchSteps(t, server, upstream);
      await netSteps(t, server);
      await txDataSteps(t, server);
    } finally {
      await server.close();
      await upstream.close();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// tana:kv

async function kvSteps(t: Deno.TestContext, server: TestServer) {
  const kv = (query: string) => ok(server, `/compat-kv?${query}`);

  await t.step('kv.get: text by default, as "text" and { type: "text" }', async () => {
    assert.deepEqual(await kv("op=text&key=greeting"), {
      plain: "Hello, edge",
      text: "Hello, edge",
      textOption: "Hello, edge",
    });
    assert.deepEqual(await kv("op=text&key=empty"), { plain: "", text: "", textOption: "" });
  });

  await t.step("kv.get: a missing key is null for every type", async () => {
    assert.deepEqual(await kv("op=text&key=nope"), {
      plain: null,
      text: null,
      textOption: null,
    });
    assert.deepEqual(await kv("op=json&key=nope"), { json: null, jsonOption: null });
    assert.deepEqual(await kv("op=bytes&key=nope"), {
      isArrayBuffer: false,
      bytes: null,
      optionBytes: null,
    });
    assert.deepEqual(await kv("op=meta-text&key=nope"), { value: null, metadata: null });
  });

  await t.step('kv.get: "json" and { type: "json" } parse the value', async () => {
    const profile = { name: "Ada", tags: ["x", "y"] };
    assert.deepEqual(await kv("op=json&key=profile"), { json: profile, jsonOption: profile });
    assert.deepEqual(await kv("op=json&key=number"), { json: 42, jsonOption: 42 });
    assert.deepEqual(await kv("op=text&key=number"), { plain: "42", text: "42", textOption: "42" });
  });

  await t.step('kv.get: "json" of a non-JSON value is a clear SyntaxError', async () => {
    assert.deepEqual(await kv("op=json-caught&key=word"), {
      name: "SyntaxError",
      message: `kv: value of key "word" is not valid JSON: ` +
        `Unexpected token 'h', "hello" is not valid JSON`,
    });
    assert.deepEqual(await kv("op=json-caught&key=empty"), {
      name: "SyntaxError",
      message: `kv: value of key "empty" is not valid JSON: Unexpected end of JSON input`,
    });
    assert.equal(
      await contractError(server, "/compat-kv?op=json-uncaught&key=broken"),
      `SyntaxError: kv: value of key "broken" is not valid JSON: ` +
        `Expected property name or '}' in JSON at position 1 (line 1 column 2) ` +
        `(${at(KV, `await kv.get(key, "json") };\n  if (op === "json-caught")`)})`,
    );
  });

  await t.step('kv.get: "arrayBuffer" gives the UTF-8 bytes', async () => {
    const bytes = [104, 195, 169, 108, 108, 111];
    assert.deepEqual(await kv("op=bytes&key=bytes"), {
      isArrayBuffer: true,
      bytes,
      optionBytes: bytes,
    });
    assert.deepEqual(await kv("op=bytes&key=empty"), {
      isArrayBuffer: true,
      bytes: [],
      optionBytes: [],
    });
  });

  await t.step("kv.getWithMetadata: value and metadata, for every type", async () => {
    const metadata = { contentType: "json", rev: 3 };
    const value = JSON.stringify({ name: "Ada", tags: ["x", "y"] });
    assert.deepEqual(await kv("op=meta&key=profile"), {
      text: { value, metadata },
      json: { value: { name: "Ada", tags: ["x", "y"] }, metadata },
      bytes: { value: Array.from(new TextEncoder().encode(value)), metadata },
    });
    assert.deepEqual(await kv("op=meta-text&key=greeting"), {
      value: "Hello, edge",
      metadata: null,
    });
    assert.deepEqual(await kv("op=meta-text&key=page:05"), { value: "v5", metadata: { n: 5 } });
  });

  await t.step("kv.list: 25 keys, limit 10 → 3 pages via cursor", async () => {
    const names: string[] = [];
    const pages: { count: number; complete: boolean; hasCursor: boolean }[] = [];
    let cursor: string | undefined;
    const seenCursors: string[] = [];
    do {
      const query = `op=list&prefix=page:&limit=10${
        cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""
      }`;
      const page = await kv(query);
      // Stable: asking for the same page again gives the same answer.
      assert.deepEqual(await kv(query), page);
      for (const key of page.keys) {
        names.push(key.name);
        const n = Number(key.name.slice(5));
        assert.deepEqual(
          key,
          n % 5 === 0 ? { name: key.name, metadata: { n } } : { name: key.name },
        );
      }
      pages.push({
        count: page.keys.length,
        complete: page.list_complete,
        hasCursor: typeof page.cursor === "string",
      });
      assert.deepEqual(
        Object.keys(page).sort(),
        page.list_complete ? ["keys", "list_complete"] : ["cursor", "keys", "list_complete"],
      );
      cursor = page.list_complete ? undefined : page.cursor;
      if (cursor) seenCursors.push(cursor);
    } while (cursor && pages.length < 10);
    assert.deepEqual(pages, [
      { count: 10, complete: false, hasCursor: true },
      { count: 10, complete: false, hasCursor: true },
      { count: 5, complete: true, hasCursor: false },
    ]);
    assert.deepEqual(names, PAGE_KEYS);
    assert.equal(new Set(names).size, 25);
    assert.equal(new Set(seenCursors).size, 2);
  });

  await t.step("kv.list: paging inside the contract, and an exact last page", async () => {
    assert.deepEqual(await kv("op=walk&prefix=page:&limit=10"), {
      names: PAGE_KEYS,
      pages: [false, false, true],
    });
    assert.deepEqual(await kv("op=walk&prefix=page:&limit=7"), {
      names: PAGE_KEYS,
      pages: [false, false, false, true],
    });
    // Exactly `limit` keys: one complete page, no cursor, no empty page after it.
    const ten = await kv("op=list&prefix=page:0&limit=10");
    assert.deepEqual(ten, { keys: ten.keys, list_complete: true });
    assert.deepEqual(ten.keys.map((k: { name: string }) => k.name), PAGE_KEYS.slice(0, 10));
  });

  await t.step("kv.list: prefixes are literal (% _ \\), order is byte order", async () => {
    const names = async (prefix: string) =>
      (await kv(`op=list&prefix=${encodeURIComponent(prefix)}`)).keys.map((k: { name: string }) =>
        k.name
      );
    assert.deepEqual(await names("100%"), ["100%", "100%done"]);
    assert.deepEqual(await names("100_"), ["100_"]);
    assert.deepEqual(await names("100"), ["100%", "100%done", "100_", "100a"]);
    assert.deepEqual(await names("a\\"), ["a\\b"]);
    assert.deepEqual(await names("%"), []);
    assert.deepEqual(await names("_"), []);
    assert.deepEqual(await kv("op=text&key=100"), { plain: null, text: null, textOption: null });
    assert.deepEqual(await kv("op=text&key=100%25"), {
      plain: "percent",
      text: "percent",
      textOption: "percent",
    });
    assert.deepEqual(await kv("op=text&key=_"), { plain: null, text: null, textOption: null });
    const all = await kv("op=list-all");
    assert.deepEqual(all.list_complete, true);
    const expected = Object.keys(KV_ROWS).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    assert.deepEqual(all.keys.map((k: { name: string }) => k.name), expected);
  });

  await t.step("kv: another contract's keys are unreachable by any key string", async () => {
    assert.deepEqual(await ok(server, "/compat-other"), {
      secret: "other's secret",
      keys: ["greeting", "page:99", "secret"],
    });
    for (
      const key of [
        "secret",
        "compat-other/secret",
        "compat-other:secret",
        "../compat-other/secret",
        "secret' OR '1'='1",
        "%secret%",
      ]
    ) {
      assert.deepEqual(await kv(`op=text&key=${encodeURIComponent(key)}`), {
        plain: null,
        text: null,
        textOption: null,
      });
    }
    assert.deepEqual(await kv("op=text&key=greeting"), {
      plain: "Hello, edge",
      text: "Hello, edge",
      textOption: "Hello, edge",
    });
    const listed = await kv("op=list&prefix=page:9");
    assert.deepEqual(listed, { keys: [], list_complete: true });
  });

  await t.step("kv: invalid keys, types, limits and cursors are clear errors", async () => {
    assert.deepEqual(await kv("op=invalid"), {
      errors: [
        "TypeError: kv.get: key must be a non-empty string",
        "TypeError: kv.get: key is 513 bytes; the limit is 512 bytes",
        'TypeError: kv.get: unsupported type "stream"; use "text", "json" or "arrayBuffer"',
        "RangeError: kv.list: limit must be a positive integer, got 0",
        "TypeError: Invalid KV cursor: pass the cursor returned by kv.list",
      ],
      clamped: [25, true],
    });
  });

  await t.step("kv.put / kv.delete reject with ReadOnlyError", async () => {
    const message = "KV is read-only in edge handlers; write through a transaction";
    assert.deepEqual(await kv("op=writes"), {
      errors: [`ReadOnlyError: ${message}`, `ReadOnlyError: ${message}`],
      stillThere: "Hello, edge",
    });
    assert.equal(
      await contractError(server, "/compat-kv?op=put-uncaught"),
      `ReadOnlyError: ${message} (${at(KV, `await kv.put("count", "1");\n    return`, 9)})`,
    );
  });

  await t.step("older Get/Post with tana/kv and Response.json", async () => {
    const found = await server.json("/compat-kv-old?key=greeting");
    assert.equal(found.status, 200);
    assert.deepEqual(found.body, { key: "greeting", value: "Hello, edge" });
    const missing = await server.json("/compat-kv-old?key=nope");
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { error: "Key not found", key: "nope" });
    const noKey = await server.json("/compat-kv-old");
    assert.equal(noKey.status, 400);
    assert.deepEqual(noKey.body, { error: "Missing key" });
    const many = await server.json("/compat-kv-old", post({ keys: ["profile", "nope", "secret"] }));
    assert.equal(many.status, 200);
    assert.equal(many.headers.get("x-count"), "3");
    assert.deepEqual(many.body, {
      values: { profile: { name: "Ada", tags: ["x", "y"] }, nope: null, secret: null },
    });
  });
}

// ---------------------------------------------------------------------------------------------
// tana:block

async function blockSteps(t: Deno.TestContext, server: TestServer) {
  const call = async (name: string, ...args: unknown[]) =>
    (await ok(server, "/compat-block", post({ call: name, args }))).result;
  const caught = (name: string, ...args: unknown[]) =>
    ok(server, "/compat-block", post({ call: name, args, caught: true }));

  await t.step("block properties describe the latest block", async () => {
    assert.deepEqual(await ok(server, "/compat-block"), {
      height: LATEST.height,
      timestamp: LATEST.timestamp,
      hash: LATEST.hash,
      previousHash: LATEST.previousHash,
      producer: LATEST.producer,
      executor: LATEST.producer,
      gasLimit: LATEST.gasLimit,
      gasUsed: LATEST.gasUsed,
      MAX_BATCH_QUERY: 10,
    });
    assert.equal(LATEST.height, 5);
    assert.equal(LATEST.hash.slice(0, 8), "ad97692b");
  });

  await t.step("older getters: getHeight() … getGasUsed(), getContractId()", async () => {
    const res = await server.json("/compat-block-old");
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      height: LATEST.height,
      timestamp: LATEST.timestamp,
      hash: LATEST.hash,
      previousHash: LATEST.previousHash,
      executor: LATEST.producer,
      contractId: "compat-block-old",
      gasLimit: LATEST.gasLimit,
      gasUsed: LATEST.gasUsed,
    });
  });

  await t.step("getUser by id and by username; unknown → null", async () => {
    assert.deepEqual(await call("getUser", "usr_alice"), user("usr_alice"));
    assert.deepEqual(await call("getUser", "alice"), user("usr_alice"));
    assert.deepEqual(await call("getUser", "usr_erin"), user("usr_erin"));
    assert.equal(user("usr_erin").publicKey, null);
    assert.equal(await call("getUser", "nobody"), null);
    assert.deepEqual(await call("getUser", ["bob", "nobody", "usr_carol", "alice"]), [
      user("usr_bob"),
      null,
      user("usr_carol"),
      user("usr_alice"),
    ]);
    assert.deepEqual(await call("getUser", []), []);
  });

  await t.step("older style user lookup (Get with tana/block)", async () => {
    const found = await server.json("/compat-block-old?id=carol");
    assert.equal(found.status, 200);
    assert.deepEqual(found.body, { user: user("usr_carol"), usd: 412.25 });
    const missing = await server.json("/compat-block-old?id=nobody");
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { error: "User not found" });
    const batch = await server.json(
      "/compat-block-old",
      post({ ids: ["erin", "ghost", "usr_dave"] }),
    );
    assert.deepEqual(batch.body, { users: ["erin", null, "dave"] });
  });

  await t.step("getBalance: two currencies, 0 when absent, arrays in order", async () => {
    assert.equal(await call("getBalance", "usr_alice", "USD"), 1250.5);
    assert.equal(await call("getBalance", "usr_alice", "TANA"), 900);
    assert.equal(await call("getBalance", "usr_carol", "TANA"), 0);
    assert.equal(await call("getBalance", "usr_nobody", "USD"), 0);
    assert.equal(await call("getBalance", "usr_alice", "EUR"), 0);
    assert.deepEqual(
      await call("getBalance", ["usr_bob", "usr_carol", "usr_nobody", "usr_alice"], "TANA"),
      [500, 0, 0, 900],
    );
    assert.deepEqual(
      await call("getBalance", ["usr_carol", "usr_dave"], "USD"),
      [412.25, 95],
    );
    assert.deepEqual(await caught("getBalance", "usr_alice", ""), {
      name: "TypeError",
      message: "block.getBalance: currencyCode must be a non-empty string",
    });
  });

  await t.step("getTransaction: one, many with misses, unknown → null", async () => {
    assert.deepEqual(await call("getTransaction", "tx_0003"), tx("tx_0003"));
    assert.deepEqual(await call("getTransaction", "tx_0008"), tx("tx_0008"));
    assert.equal(tx("tx_0008").blockHeight, null);
    assert.equal(await call("getTransaction", "tx_9999"), null);
    assert.deepEqual(await call("getTransaction", ["tx_0007", "tx_9999", "tx_0001"]), [
      tx("tx_0007"),
      null,
      tx("tx_0001"),
    ]);
  });

  await t.step("getBlock and getLatestBlock", async () => {
    assert.deepEqual(await call("getBlock", 0), block(0));
    assert.deepEqual(await call("getBlock", 3), block(3));
    assert.equal(await call("getBlock", 99), null);
    assert.deepEqual(await call("getBlock", [5, 99, 1]), [block(5), null, block(1)]);
    assert.deepEqual(await call("getLatestBlock"), LATEST);
    assert.deepEqual(await caught("getBlock", -1), {
      name: "TypeError",
      message: "block.getBlock: height must be a non-negative integer, got -1",
    });
  });

  await t.step("batches: 10 ids work, 11 are a clear error", async () => {
    const ten = ["alice", "bob", "carol", "dave", "erin", "usr_alice", "x1", "x2", "x3", "usr_bob"];
    assert.deepEqual(await call("getUser", ten), [
      user("usr_alice"),
      user("usr_bob"),
      user("usr_carol"),
      user("usr_dave"),
      user("usr_erin"),
      user("usr_alice"),
      null,
      null,
      null,
      user("usr_bob"),
    ]);
    const heights = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    assert.deepEqual(
      await call("getBlock", heights),
      heights.map((h) => h <= 5 ? block(h) : null),
    );
    const eleven = [...ten, "usr_carol"];
    assert.deepEqual(await caught("getUser", eleven), {
      name: "RangeError",
      message: "block.getUser: at most 10 ids per call (MAX_BATCH_QUERY), got 11",
    });
    assert.deepEqual(await caught("getBalance", eleven, "USD"), {
      name: "RangeError",
      message: "block.getBalance: at most 10 ids per call (MAX_BATCH_QUERY), got 11",
    });
    assert.deepEqual(await caught("getTransaction", eleven), {
      name: "RangeError",
      message: "block.getTransaction: at most 10 ids per call (MAX_BATCH_QUERY), got 11",
    });
    assert.deepEqual(await caught("getBlock", [...heights, 10]), {
      name: "RangeError",
      message: "block.getBlock: at most 10 heights per call (MAX_BATCH_QUERY), got 11",
    });
    assert.equal(
      await contractError(server, "/compat-block", post({ call: "getUser", args: [eleven] })),
      "RangeError: block.getUser: at most 10 ids per call (MAX_BATCH_QUERY), got 11 " +
        `(${at(BLOCK, "fn(...body.args) };\n  try", 0)})`,
    );
  });

  await t.step("a new block is seen by the next request", async () => {
    await server.sql(
      "INSERT INTO blocks (height, hash, previous_hash, timestamp, producer, gas_limit, " +
        "gas_used, tx_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      6,
      "f".repeat(64),
      LATEST.hash,
      LATEST.timestamp + 6000,
      "val_south",
      30_000_000,
      21_000,
      1,
    );
    try {
      const next: Block = {
        height: 6,
        timestamp: LATEST.timestamp + 6000,
        hash: "f".repeat(64),
        previousHash: LATEST.hash,
        producer: "val_south",
        gasLimit: 30_000_000,
        gasUsed: 21_000,
        txCount: 1,
      };
      const props = await ok(server, "/compat-block");
      assert.equal(props.height, 6);
      assert.equal(props.previousHash, LATEST.hash);
      assert.deepEqual(await call("getLatestBlock"), next);
    } finally {
      await server.sql("DELETE FROM blocks WHERE height = $1", 6);
    }
    assert.equal((await ok(server, "/compat-block")).height, 5);
  });
}

// ---------------------------------------------------------------------------------------------
// tana:context

async function contextSteps(t: Deno.TestContext, server: TestServer) {
  const contextBlock = {
    height: LATEST.height,
    timestamp: LATEST.timestamp,
    hash: LATEST.hash,
    producer: LATEST.producer,
  };

  await t.step("context.owner/caller/block/input on GET (input null)", async () => {
    assert.deepEqual(await ok(server, "/compat-context?x=1"), {
      owner: "usr_carol",
      caller: null,
      block: contextBlock,
      input: null,
      sameCaller: true,
    });
  });

  await t.step("context.input() is the POST body", async () => {
    for (const body of [{ a: [1, 2], b: "c" }, [1, "two"], "text", 42, null]) {
      assert.deepEqual(await ok(server, "/compat-context", post(body)), {
        owner: "usr_carol",
        input: body,
        body,
      });
    }
  });

  await t.step("older Get/Post with tana/context", async () => {
    const res = await server.json("/compat-context-old");
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { owner: "usr_dave", input: null, block: contextBlock });
    const posted = await server.json("/compat-context-old", post({ amount: 5 }));
    assert.equal(posted.status, 202);
    assert.deepEqual(posted.body, { input: { amount: 5 }, caller: null });
  });
}

// ---------------------------------------------------------------------------------------------
// tana:core

async function coreSteps(t: Deno.TestContext, server: TestServer) {
  const version = {
    tana: "0.1.0",
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
  };

  const records: LogRecord[] = [];
  const lines = () =>
    records.map((
      r,
    ) => [r.level, r.properties.contractId, r.properties.requestId, r.properties.text]);
  const DROPPED = "4 more log lines dropped (limit 6 per request)";

  await t.step("tana:core version and captured console (response unaffected)", async () => {
    await configure({
      reset: true,
      sinks: { memory: (record: LogRecord) => records.push(record) },
      loggers: [
        { category: ["tana-edge", "contract"], lowestLevel: "debug", sinks: ["memory"] },
        { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
      ],
    });
    try {
      const res = await server.json("/compat-core", { headers: { "x-request-id": "core-1" } });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { version, tana: "0.1.0" });
      const old = await server.json("/compat-core-old", { headers: { "x-request-id": "core-2" } });
      assert.equal(old.status, 200);
      assert.deepEqual(old.body, { version });
      const flood = await server.json("/compat-core?flood=1", {
        headers: { "x-request-id": "core-3" },
      });
      assert.deepEqual(flood.body, { flooded: true });
      await new Promise((resolve) => setTimeout(resolve, 100)); // a late "dropped" line
      // Tagged with contract and request id; bounded to MAX_LOG_LINES (6) per request.
      assert.deepEqual(lines().filter((line) => line[3] !== DROPPED), [
        ["info", "compat-core", "core-1", 'log line {"n":1}'],
        ["info", "compat-core", "core-1", "info line"],
        ["warning", "compat-core", "core-1", "warn line [1,2]"],
        ["error", "compat-core", "core-1", "error line Error: oops"],
        ["debug", "compat-core", "core-1", "debug line null 3"],
        ["info", "compat-core-old", "core-2", "old style"],
        ["info", "compat-core-old", "core-2", "global console"],
        ["info", "compat-core", "core-3", "line 1"],
        ["info", "compat-core", "core-3", "line 2"],
        ["info", "compat-core", "core-3", "line 3"],
        ["info", "compat-core", "core-3", "line 4"],
        ["info", "compat-core", "core-3", "line 5"],
        ["info", "compat-core", "core-3", "line 6"],
      ]);
    } finally {
      await reset();
    }
  });

  // The sandbox must send this note before the run's last frame, or it is never logged.
  await t.step({
    name: "tana:core console: lines over the limit are counted in a logged note",
    fn: () => {
      assert.deepEqual(lines().at(-1), ["warning", "compat-core", "core-3", DROPPED]);
    },
  });
}

// ---------------------------------------------------------------------------------------------
// tana:utils

async function fetchSteps(t: Deno.TestContext, server: TestServer, upstream: Upstream) {
  const base = encodeURIComponent(upstream.base);
  const run = (op: string) => ok(server, `/compat-fetch?op=${op}&base=${base}`);
  const blocked = (host: string) =>
    `FetchError: Fetch to host "${host}" is blocked: it is not on the allow-list (127.0.0.1)`;

  await t.step("fetch: method, headers and body passed; ok/status/headers/json/text", async () => {
    assert.deepEqual(await run("echo"), {
      ok: true,
      status: 201,
      statusText: "Created",
      url: `${upstream.base}/echo`,
      upstream: "yes",
      hasUpstream: true,
      hasNothing: false,
      nothing: null,
      headerNames: ["content-type", "x-upstream"],
      entries: true,
      json: {
        method: "POST",
        custom: "abc",
        second: null,
        contentType: "application/json",
        body: '{"n":1}',
      },
      text: JSON.stringify({
        method: "POST",
        custom: "abc",
        second: null,
        contentType: "application/json",
        body: '{"n":1}',
      }),
    });
    assert.deepEqual(await run("pairs"), {
      method: "PUT",
      custom: "from-pairs",
      second: "2",
      contentType: null,
      body: "raw bytes",
    });
  });

  await t.step("fetch: text(), arrayBuffer(), json() of a non-JSON body", async () => {
    assert.deepEqual(await run("text"), {
      ok: true,
      status: 200,
      text: "plain text ü",
      length: 13,
      jsonError: `SyntaxError: fetch: body of ${upstream.base}/text is not valid JSON: ` +
        `Unexpected token 'p', "plain text ü" is not valid JSON`,
    });
    assert.deepEqual(await run("bytes"), {
      isArrayBuffer: true,
      bytes: [0, 1, 2, 253, 254, 255],
    });
    assert.deepEqual(await run("missing"), {
      ok: false,
      status: 404,
      statusText: "Not Found",
      text: "nope",
    });
  });

  await t.step("fetch: a redirect within the allow-list is followed", async () => {
    assert.deepEqual(await run("redirect"), {
      status: 200,
      url: `${upstream.base}/text`,
      text: "plain text ü",
    });
  });

  await t.step("fetch: a blocked host is refused, naming the host", async () => {
    const url = encodeURIComponent(`http://localhost:${upstream.port}/secret`);
    assert.equal(
      await contractError(server, `/compat-fetch?op=get&url=${url}`),
      blocked(`localhost:${upstream.port}`),
    );
    assert.equal(
      await contractError(
        server,
        `/compat-fetch?op=get&url=${encodeURIComponent("http://blocked.test/")}`,
      ),
      blocked("blocked.test"),
    );
    // Not a subdomain of an allowed host, only a look-alike.
    assert.equal(
      await contractError(
        server,
        `/compat-fetch?op=get&url=${encodeURIComponent("http://127.0.0.1.blocked.test/")}`,
      ),
      blocked("127.0.0.1.blocked.test"),
    );
    assert.equal(upstream.secretHits, 0);
  });

  await t.step("fetch: a redirect to a blocked host is blocked; nothing reaches it", async () => {
    const url = encodeURIComponent(`${upstream.base}/redirect-blocked`);
    assert.equal(
      await contractError(server, `/compat-fetch?op=get&url=${url}`),
      blocked(`localhost:${upstream.port}`),
    );
    assert.equal(upstream.secretHits, 0);
    assert.equal(upstream.seen.filter((line) => line.includes("/secret")).length, 0);
  });

  await t.step("fetch: an oversized response is a clear error", async () => {
    const tooBig = `FetchError: Fetch response from 127.0.0.1:${upstream.port} exceeds 1024 bytes`;
    for (const path of ["/big", "/big-stream"]) {
      const url = encodeURIComponent(upstream.base + path);
      assert.equal(await contractError(server, `/compat-fetch?op=get&url=${url}`), tooBig);
    }
    const exact = await ok(
      server,
      `/compat-fetch?op=get&url=${encodeURIComponent(upstream.base + "/exact")}`,
    );
    assert.deepEqual(exact, { text: "z".repeat(1024) });
  });

  await t.step("fetch: the per-request count is a clear error", async () => {
    assert.deepEqual(await run("count"), {
      done: 3,
      error: "FetchError: Fetch limit exceeded: 3 per request",
    });
    // The count is per request: the next request may fetch again.
    assert.equal((await run("count")).done, 3);
  });

  await t.step("fetch: the timeout is a clear error", async () => {
    const url = encodeURIComponent(upstream.base + "/slow");
    assert.equal(
      await contractError(server, `/compat-fetch?op=get&url=${url}`),
      `FetchError: Fetch to 127.0.0.1:${upstream.port} timed out after 750 ms`,
    );
  });

  await t.step("fetch: invalid arguments and the global fetch", async () => {
    assert.deepEqual(await run("invalid"), {
      errors: [
        'TypeError: fetch: unsupported protocol "ftp:"; use http: or https:',
        'TypeError: fetch: invalid URL "not a url"',
        "TypeError: fetch: a GET request cannot have a body",
        'TypeError: Global fetch is not available: use fetch from "tana:utils"',
      ],
    });
  });

  // Redirect semantics of the Fetch standard: 303 (and 301/302 after POST) become GET without
  // a body; 307/308 repeat the method and the body.
  await t.step({
    name: "fetch: redirects follow Fetch method/body rules (303 → GET, 307 keeps body)",
    fn: async () => {
      assert.deepEqual((await run("redirect-303")).json, {
        method: "GET",
        custom: null,
        second: null,
        contentType: null,
        body: "",
      });
      assert.deepEqual((await run("redirect-307")).json, {
        method: "POST",
        custom: null,
        second: null,
        contentType: null,
        body: "payload",
      });
    },
  });

  await t.step("older Post with tana/utils", async () => {
    const good = await server.json("/compat-fetch-old", post({ url: upstream.base + "/text" }));
    assert.equal(good.status, 200);
    assert.deepEqual(good.body, { status: 200, body: "plain text ü" });
    const bad = await server.json("/compat-fetch-old", post({ url: upstream.base + "/missing" }));
    assert.equal(bad.status, 502);
    assert.deepEqual(bad.body, { status: 404, body: "nope" });
  });
}

// ---------------------------------------------------------------------------------------------
// tana:net

async function netSteps(t: Deno.TestContext, server: TestServer) {
  await t.step("Response.text, Response.json (status/headers forms), new Response", async () => {
    const text = await server.get("/compat-net?as=text");
    assert.equal(text.status, 202);
    assert.equal(text.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(text.headers.get("x-kind"), "text");
    assert.equal(await text.text(), "plain body");

    const json = await server.json("/compat-net?as=json-init");
    assert.equal(json.status, 201);
    assert.equal(json.headers.get("content-type"), "application/json");
    assert.equal(json.headers.get("x-kind"), "json");
    assert.deepEqual(json.body, { a: [1, 2] });

    const pairs = await server.json("/compat-net");
    assert.equal(pairs.status, 404);
    assert.equal(pairs.headers.get("x-kind"), "pairs");
    assert.deepEqual(pairs.body, { error: "Not found" });

    const html = await server.get("/compat-net?as=new");
    assert.equal(html.status, 203);
    assert.equal(html.headers.get("content-type"), "text/html");
    assert.equal(await html.text(), "<b>hi</b>");
  });

  await t.step("Response with an invalid status is a contract error", async () => {
    assert.equal(
      await contractError(server, "/compat-net?as=bad-status"),
      "RangeError: Response: status must be an integer from 200 to 599, got 99 " +
        `(${at(NET, "json({}, 99)")})`,
    );
  });

  await t.step("older Get with tana/net: Request and JsonValue exist at run time", async () => {
    const res = await server.get("/compat-net-old");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(await res.text(), "v=undefined undefined");
  });
}

// ---------------------------------------------------------------------------------------------
// tana:tx and tana:data

async function txDataSteps(t: Deno.TestContext, server: TestServer) {
  const txMessage =
    "Transactions cannot be executed in edge handlers; submit them to the ledger from contract()";

  await t.step("tx: transfer/setBalance/getChanges stage; execute() → ReadOnlyError", async () => {
    const res = await server.json("/compat-tx");
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      staged: [
        { type: "transfer", from: "usr_alice", to: "usr_bob", amount: 25, currency: "USD" },
        { type: "balance_update", userId: "usr_carol", amount: 100, currency: "TANA" },
      ],
      error: { name: "ReadOnlyError", message: txMessage },
      invalid: [
        "TypeError: tx.transfer: from and to must differ",
        "RangeError: tx.transfer: amount must be positive",
        "RangeError: tx.setBalance: amount must be a finite non-negative number",
      ],
    });
    // Staging is per request: a fresh worker starts with nothing staged.
    assert.deepEqual(await ok(server, "/compat-tx-new"), {
      wouldApply: [
        { type: "transfer", from: "usr_erin", to: "usr_dave", amount: 1.5, currency: "TANA" },
      ],
    });
    assert.equal(
      await contractError(server, "/compat-tx", post({ amount: 5 })),
      `ReadOnlyError: ${txMessage} (${at(TX, "execute());\n}")})`,
    );
  });

  await t.step("data: get/has/keys/entries read the KV; writes → ReadOnlyError", async () => {
    const readOnly =
      "ReadOnlyError: Data is read-only in edge handlers; write through a transaction";
    const res = await server.json("/compat-data");
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      config: { theme: "dark", max: 5 },
      list: ["a", "b"],
      note: "plain text",
      missing: null,
      hasNote: true,
      hasMissing: false,
      keys: ["config", "note", "user:1", "user:10", "user:2"],
      userKeys: ["user:1", "user:10", "user:2"],
      oneChar: ["user:1", "user:2"],
      entries: {
        config: { theme: "dark", max: 5 },
        note: "plain text",
        "user:1": "Ann",
        "user:10": "Ten",
        "user:2": ["a", "b"],
      },
      limits: [256, 10240, 102400, 1000],
      errors: { set: readOnly, delete: readOnly, clear: readOnly, commit: readOnly },
      stillThere: { theme: "dark", max: 5 },
    });
    assert.deepEqual(await ok(server, "/compat-data-new"), { keys: ["secret"], secret: true });
  });
}

// ---------------------------------------------------------------------------------------------
// The example contracts, on the default seeded SQLite store.

Deno.test("example contracts give their documented output", async (t) => {
  const server = await startTestServer();
  try {
    await t.step("hello", async () => {
      const body = await ok(server, "/hello");
      assert.equal(typeof body.timestamp, "number");
      assert.ok(Math.abs(body.timestamp - Date.now()) < 60_000);
      assert.deepEqual(body, {
        message: "Hello from Tana!",
        contract: "hello",
        timestamp: body.timestamp,
      });
    });

    await t.step("counter", async () => {
      const body = await ok(server, "/counter");
      assert.equal(typeof body.timestamp, "number");
      assert.deepEqual(body, { count: 42, timestamp: body.timestamp });
    });

    await t.step("kv-demo: one key with metadata, lists, pages, a missing key", async () => {
      assert.deepEqual(await ok(server, "/kv-demo?key=user:alice"), {
        key: "user:alice",
        value: JSON.stringify({ name: "Alice Martin", role: "admin", visits: 17 }),
        metadata: { contentType: "application/json", updatedBy: "usr_alice" },
      });
      assert.deepEqual(await ok(server, "/kv-demo?key=config:theme"), {
        key: "config:theme",
        value: "dark",
        metadata: null,
      });
      assert.deepEqual(await ok(server, "/kv-demo?prefix=user:"), {
        prefix: "user:",
        keys: ["user:alice", "user:bob", "user:carol"],
        complete: true,
        cursor: null,
      });
      const first = await ok(server, "/kv-demo?prefix=user:&limit=2");
      assert.deepEqual(first, {
        prefix: "user:",
        keys: ["user:alice", "user:bob"],
        complete: false,
        cursor: first.cursor,
      });
      assert.equal(typeof first.cursor, "string");
      assert.deepEqual(
        await ok(
          server,
          `/kv-demo?prefix=user:&limit=2&cursor=${encodeURIComponent(first.cursor)}`,
        ),
        { prefix: "user:", keys: ["user:carol"], complete: true, cursor: null },
      );
      assert.deepEqual(await ok(server, "/kv-demo"), {
        prefix: "",
        keys: ["config:max_items", "config:theme", "user:alice", "user:bob", "user:carol"],
        complete: true,
        cursor: null,
      });
      const missing = await server.json("/kv-demo?key=greeting");
      assert.equal(missing.status, 404);
      assert.deepEqual(missing.body, { error: 'No key "greeting"' });
      const badLimit = await server.json("/kv-demo?limit=0");
      assert.equal(badLimit.status, 400);
      assert.deepEqual(badLimit.body, { error: "limit must be a positive integer" });
    });

    await t.step("user-lookup (older style)", async () => {
      assert.deepEqual(await ok(server, "/user-lookup?id=alice&currency=TANA"), {
        user: user("usr_alice"),
        balance: { currency: "TANA", amount: 900 },
      });
      assert.deepEqual(await ok(server, "/user-lookup?id=usr_carol"), {
        user: user("usr_carol"),
        balance: { currency: "USD", amount: 412.25 },
      });
      assert.deepEqual(await ok(server, "/user-lookup?id=carol&currency=TANA"), {
        user: user("usr_carol"),
        balance: { currency: "TANA", amount: 0 },
      });
      const missing = await server.json("/user-lookup");
      assert.equal(missing.status, 400);
      assert.deepEqual(missing.body, { error: "Missing user ID" });
      const unknown = await server.json("/user-lookup?id=nobody");
      assert.equal(unknown.status, 404);
      assert.deepEqual(unknown.body, { error: "User not found" });
    });

    await t.step("echo", async () => {
      const res = await server.json("/echo/a/b%20c?x=1&y=two", {
        method: "POST",
        headers: { "content-type": "application/json", "x-test": "t" },
        body: JSON.stringify({ hello: "edge" }),
      });
      assert.equal(res.status, 200);
      const { headers, ...rest } = res.body;
      assert.deepEqual(rest, {
        body: { hello: "edge" },
        method: "POST",
        path: "/a/b%20c",
        params: ["a", "b c"],
        query: { x: "1", y: "two" },
        caller: null,
        contract: "echo",
      });
      // Every header the client sent, names lower-cased.
      assert.deepEqual(headers, {
        accept: "*/*",
        "accept-encoding": "gzip,br",
        "accept-language": "*",
        "content-length": "16",
        "content-type": "application/json",
        host: new URL(server.url).host,
        "user-agent": `Deno/${Deno.version.deno}`,
        "x-test": "t",
      });
    });

    await t.step("chain-info", async () => {
      assert.deepEqual(await ok(server, "/chain-info"), {
        block: {
          height: LATEST.height,
          timestamp: LATEST.timestamp,
          hash: LATEST.hash,
          previousHash: LATEST.previousHash,
          producer: LATEST.producer,
          gasLimit: LATEST.gasLimit,
          gasUsed: LATEST.gasUsed,
        },
        context: {
          contractId: "chain-info",
          owner: "usr_alice",
          caller: null,
          block: {
            height: LATEST.height,
            timestamp: LATEST.timestamp,
            hash: LATEST.hash,
            producer: LATEST.producer,
          },
        },
        version: {
          tana: "0.1.0",
          deno: Deno.version.deno,
          v8: Deno.version.v8,
          typescript: Deno.version.typescript,
        },
      });
    });
  } finally {
    await server.close();
  }
});
