/**
 * What the baselines (c) and (d) share, and none of tana-edge's code: the hello module they run,
 * the request it is given, their sandbox-like child processes, and length-prefixed frames over a
 * pipe between them.
 *
 * @module
 */
import { sandboxRunArgs } from "../src/sandbox/command.ts";

/** The hello handler, as a module a worker imports from a `blob:` URL. */
export const HELLO = `export function get(req) {
  return { message: "Hello from Tana!", contract: req.tana.contract.id, timestamp: Date.now() };
}`;

/** A request shaped like the ones tana-edge hands to a contract (see contract-api.md). */
export const REQUEST = {
  url: "http://127.0.0.1/hello",
  method: "GET",
  path: "/",
  params: [],
  query: {},
  headers: { accept: "*/*" },
  ip: "127.0.0.1",
  body: null,
  tana: {
    contract: { id: "hello", name: "hello", owner: "", version: 1, codeHash: "" },
    caller: null,
    session: null,
  },
};

/**
 * Encodes a frame: payload length (u32), request id (u32), payload.
 *
 * @param id the request the frame belongs to
 * @param payload the bytes to carry
 * @returns the frame
 */
export function frame(id: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.byteLength);
  view.setUint32(4, id);
  out.set(payload, 8);
  return out;
}

/**
 * Splits a byte stream into frames. Reads go into one reused buffer (a BYOB reader), as tana-edge
 * reads its pipes: a default reader's fresh 64 KiB chunk per read costs each read page faults.
 *
 * @param stream the peer's output (a byte stream, as Deno's pipes are)
 * @returns the frames, in order
 */
export async function* frames(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<{ id: number; payload: Uint8Array }> {
  const reader = stream.getReader({ mode: "byob" });
  let scratch = new Uint8Array(64 * 1024);
  let buffer = new Uint8Array(0);
  while (true) {
    const { value: chunk, done } = await reader.read(scratch);
    if (done) return;
    scratch = new Uint8Array(chunk.buffer);
    const joined = new Uint8Array(buffer.byteLength + chunk.byteLength);
    joined.set(buffer);
    joined.set(chunk, buffer.byteLength);
    buffer = joined;
    while (buffer.byteLength >= 8) {
      const view = new DataView(buffer.buffer, buffer.byteOffset);
      const length = view.getUint32(0);
      if (buffer.byteLength < 8 + length) break;
      yield { id: view.getUint32(4), payload: buffer.slice(8, 8 + length) };
      buffer = buffer.slice(8 + length);
    }
  }
}

/**
 * Starts `script` again as a child started like a sandbox: no permissions, the sandbox's V8 flags,
 * frames on stdin and stdout.
 *
 * @param script the baseline's own `import.meta.url`
 * @param heapMb `SANDBOX_HEAP_MB`
 * @param extra arguments after `child`
 * @returns the running child
 */
export function spawnChild(
  script: string,
  heapMb: number,
  extra: string[] = [],
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: sandboxRunArgs(heapMb, script, ["child", ...extra]),
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}
