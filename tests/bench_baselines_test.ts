/**
 * The benchmark's design floor (`bench/baseline_design.ts`) does what the report says it does:
 * answers hello through zero-permission children, spawns each worker on arrival or keeps one
 * spawned ahead (`prespawn`), and with no queue sheds with 503 and `Retry-After`.
 */
import assert from "node:assert/strict";
import { freePort } from "./_net.ts";

const SCRIPT = new URL("../bench/baseline_design.ts", import.meta.url).pathname;

/** Starts the design floor with 2 children; stops it when disposed. */
async function designFloor(queue: number, prespawn: boolean) {
  const port = freePort();
  const args = [String(port), "2", "128", String(queue), ...(prespawn ? ["prespawn"] : [])];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-run", "--allow-read", SCRIPT, ...args],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0;; i++) {
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      break;
    } catch (error) {
      if (i > 400) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    pid: child.pid,
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** Worker threads (Deno names them `worker-N`) of each child process of `pid`. */
async function workerThreads(pid: number): Promise<number[]> {
  const children = (await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`)).trim().split(
    /\s+/,
  );
  return await Promise.all(children.map(async (child) => {
    let n = 0;
    for await (const task of Deno.readDir(`/proc/${child}/task`)) {
      const comm = await Deno.readTextFile(`/proc/${child}/task/${task.name}/comm`).catch(() => "");
      if (comm.startsWith("worker-")) n++;
    }
    return n;
  }));
}

for (const prespawn of [false, true]) {
  Deno.test(
    `design floor ${prespawn ? "pre-spawning" : "on demand"} answers hello, ${
      prespawn ? "keeping one worker spawned ahead" : "spawning no worker ahead"
    } per child`,
    async () => {
      await using floor = await designFloor(Infinity, prespawn);
      const answers = await Promise.all(Array.from({ length: 6 }, async () => {
        const res = await fetch(floor.url);
        return { status: res.status, body: await res.json() };
      }));
      for (const a of answers) {
        assert.equal(a.status, 200);
        assert.equal(a.body.message, "Hello from Tana!");
        assert.equal(a.body.contract, "hello");
      }
      // Idle now: a worker ahead per child, or none; workers that ran are gone.
      let threads: number[] = [];
      for (let i = 0; i < 40; i++) {
        threads = await workerThreads(floor.pid);
        if (threads.every((n) => n === (prespawn ? 1 : 0))) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(threads, prespawn ? [1, 1] : [0, 0]);
    },
  );
}

Deno.test("design floor with no queue sheds what finds both children busy: 503 + Retry-After", async () => {
  await using floor = await designFloor(0, false);
  const answers = await Promise.all(Array.from({ length: 12 }, async () => {
    const res = await fetch(floor.url);
    await res.body?.cancel();
    return { status: res.status, retryAfter: res.headers.get("retry-after") };
  }));
  const ok = answers.filter((a) => a.status === 200).length;
  const shed = answers.filter((a) => a.status === 503);
  assert.ok(ok >= 2 && ok < 12, `admitted ${ok} of 12`);
  assert.equal(ok + shed.length, 12);
  assert.ok(shed.every((a) => a.retryAfter === "1"));
});
