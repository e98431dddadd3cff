/**
 * The frame protocol between the server and its sandboxes: frames survive any chunking of the
 * stream, garbage is refused, and a message too large for a frame fails when it is encoded, never
 * in the reader (which would declare the whole sandbox broken).
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  encodeFrame,
  MAX_HEADER_BYTES,
  ProtocolError,
  readFrames,
} from "../src/sandbox/protocol.ts";

/**
 * A byte stream, as a pipe is, that delivers `bytes` in chunks of the given sizes, cycling through
 * them (a chunk larger than the reader's buffer arrives over several reads).
 */
function chunked(bytes: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  let at = 0;
  let i = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (at >= bytes.byteLength) {
        controller.close();
        controller.byobRequest?.respond(0); // a reader waiting with its buffer learns of the end
        return;
      }
      const size = sizes[i++ % sizes.length];
      controller.enqueue(bytes.slice(at, at + size)); // a copy, as a pipe read would be
      at += size;
    },
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

async function readAll(stream: ReadableStream<Uint8Array>) {
  const out = [];
  for await (const frame of readFrames(stream)) out.push(frame);
  return out;
}

Deno.test("frames survive any chunking of the stream", async () => {
  const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
  const frames = [
    encodeFrame({ t: "a", n: 1 }),
    encodeFrame({ t: "b", text: "é".repeat(100_000) }, big),
    encodeFrame({ t: "c" }, new Uint8Array([1, 2, 3])),
    encodeFrame({ t: "d", n: 4 }),
  ];
  for (const sizes of [[1, 7, 4096], [65536], [10_000_000], [3, 200_000, 11]]) {
    const got = await readAll(chunked(concat(frames), sizes));
    assert.deepEqual(got.map((f) => f.header.t), ["a", "b", "c", "d"], `chunks ${sizes}`);
    assert.equal((got[1].header.text as string).length, 100_000);
    assert.deepEqual(got[1].payload, big);
    assert.deepEqual(got[2].payload, new Uint8Array([1, 2, 3]));
    assert.equal(got[0].payload, null);
  }
});

Deno.test("garbage and a torn frame are protocol errors", async () => {
  await assert.rejects(
    readAll(chunked(new TextEncoder().encode("hello, not a frame"), [5])),
    ProtocolError,
  );
  const torn = encodeFrame({ t: "x" }, new Uint8Array(100)).slice(0, 50);
  await assert.rejects(readAll(chunked(torn, [10])), /ended inside a frame/);
});

Deno.test("a message a frame cannot carry fails when encoded", () => {
  assert.throws(() => encodeFrame({ t: "big", text: "x".repeat(MAX_HEADER_BYTES) }), RangeError);
  assert.throws(() => encodeFrame({ t: "n", value: 1n }), TypeError);
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  assert.throws(() => encodeFrame({ t: "c", cycle }), TypeError);
});
