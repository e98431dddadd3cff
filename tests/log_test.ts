/**
 * The JSON log sink as the server's process uses it: records are written in batches off the
 * request path, and none may be lost when the process flushes its logs and exits, even while a
 * batch is still being written.
 */
import assert from "node:assert/strict";
import { batchedWrites } from "../src/log.ts";

Deno.test("no log record is lost at exit, even with a batch being written", async () => {
  const records = 3000;
  // The sink writes a batch once half of its buffer (2000 records) is full; the rest arrive while
  // that batch is being written, and flushLogs() comes right after the last.
  const script = `
    import { flushLogs, logger, setupLogging } from ${
    JSON.stringify(import.meta.resolve("../src/log.ts"))
  };
    await setupLogging("info", "json");
    const log = logger("http");
    for (let i = 0; i < ${records}; i++) log.info("record {i}", { i });
    await flushLogs();
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    cwd: new URL("..", import.meta.url),
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0);
  const lines = new TextDecoder().decode(out.stdout).split("\n").filter((line) => line !== "");
  const seen = lines.map((line) => JSON.parse(line).properties.i);
  assert.equal(seen.length, records, "every record was written");
  assert.deepEqual(seen, [...Array(records).keys()], "in the order they were logged");
});

/** A stream that keeps each chunk it is given, or fails every write with `failWith`. */
function recorder(failWith?: Error) {
  const chunks: string[] = [];
  let closed = false;
  const stream = new WritableStream<Uint8Array>({
    write(chunk) {
      if (failWith) throw failWith;
      chunks.push(new TextDecoder().decode(chunk));
    },
    close() {
      closed = true;
    },
  });
  return { stream, chunks, closed: () => closed };
}

Deno.test("records written within one turn reach stdout in one write, in order", async () => {
  const target = recorder();
  const writer = batchedWrites(target.stream).getWriter();
  for (const line of ["a\n", "b\n", "c\n"]) await writer.write(new TextEncoder().encode(line));
  assert.deepEqual(target.chunks, [], "nothing is written within the turn");
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(target.chunks, ["a\nb\nc\n"]);
  await writer.write(new TextEncoder().encode("d\n"));
  await writer.close();
  assert.deepEqual(target.chunks, ["a\nb\nc\n", "d\n"], "closing writes what is left");
  assert.ok(target.closed(), "and closes stdout's stream");
});

Deno.test("a write that fails is reported on the next write, not lost", async () => {
  const writer = batchedWrites(recorder(new Error("EPIPE")).stream).getWriter();
  await writer.write(new TextEncoder().encode("a\n"));
  await new Promise((resolve) => setTimeout(resolve, 10));
  await assert.rejects(writer.write(new TextEncoder().encode("b\n")), /EPIPE/);
});

Deno.test("a stdout that does not drain holds the writer instead of gathering without bound", async () => {
  let release = () => {};
  const held = new Promise<void>((resolve) => release = resolve);
  const written: number[] = [];
  const target = new WritableStream<Uint8Array>({
    async write(chunk) {
      await held;
      written.push(chunk.byteLength);
    },
  });
  const writer = batchedWrites(target).getWriter();
  const line = new Uint8Array(64 * 1024);
  await writer.write(line); // the first batch: stdout takes it and does not finish
  await new Promise((resolve) => setTimeout(resolve, 10));
  // One line per turn, as records come: without a limit each turn's batch would queue up behind it.
  let returned = 0;
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < 40; i++) {
    writes.push(writer.write(line).then(() => returned++));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert.ok(returned < 40, `writes past 1 MB wait for stdout (${returned} of 40 returned)`);
  release();
  await Promise.all(writes);
  await writer.close();
  assert.equal(written.reduce((a, b) => a + b, 0), 41 * 64 * 1024, "and nothing is lost");
});
