/**
 * The JSON log sink as the server's process uses it: records are written in batches off the
 * request path, and none may be lost when the process flushes its logs and exits, even while a
 * batch is still being written.
 */
import assert from "node:assert/strict";

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
