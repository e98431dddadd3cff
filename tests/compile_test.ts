/**
 * `deno task compile` builds a single binary that serves contracts with its own sandboxes.
 *
 * `deno compile` needs the `denort` runtime, which it downloads; where that download is not
 * possible, set `DENORT_BIN` to a real denort binary. Without it this test is skipped (and says
 * so), because a build that cannot run proves nothing.
 */
import assert from "node:assert/strict";
import { taskArgs } from "./_tasks.ts";

const denort = Deno.env.get("DENORT_BIN");
if (!denort) {
  console.log(
    "compile test skipped: DENORT_BIN is not set (deno compile cannot fetch denort here)",
  );
}

Deno.test({
  name: "deno task compile builds a binary that serves the examples",
  ignore: !denort,
  sanitizeResources: false,
  async fn() {
    const root = new URL("../", import.meta.url);
    const out = await Deno.makeTempDir({ prefix: "tana-edge-bin-" });
    const binary = `${out}/tana-edge`;
    // `deno task compile` as written in deno.json, with the binary written to a temporary folder.
    const args = taskArgs("compile");
    args[args.indexOf("--output") + 1] = binary;
    const build = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: root,
      env: { DENORT_BIN: denort! },
    }).output();
    assert.equal(build.code, 0, new TextDecoder().decode(build.stderr));

    const port = 20000 + Math.floor(Math.random() * 20000);
    const server = new Deno.Command(binary, {
      args: ["serve"],
      env: { PORT: String(port), DATA_DIR: `${out}/data`, SANDBOX_PROCESSES: "1" },
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      let res: Response | null = null;
      for (let i = 0; i < 100 && !res; i++) {
        res = await fetch(`http://127.0.0.1:${port}/hello`).catch(() => null);
        if (!res) await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(res, "binary did not start");
      assert.equal(res.status, 200);
      assert.ok((await res.json()).message);
    } finally {
      server.kill("SIGTERM");
      await server.status;
      await Deno.remove(out, { recursive: true });
    }
  },
});
