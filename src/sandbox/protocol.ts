/**
 * Framed messages between the server and its sandbox processes (over the sandbox's
 * stdin/stdout).
 *
 * A frame is `MAGIC (2 bytes) | header length (u32) | payload length (u32) | header | payload`.
 * The header is JSON; the payload is raw bytes (contract results travel here untouched, so the
 * server never parses what a contract returned). The magic lets the reader notice at once when
 * anything other than frames reaches the stream and treat the sandbox as broken.
 *
 * @module
 */

const MAGIC_0 = 0x54; // "T"
const MAGIC_1 = 0x45; // "E"
const PREFIX = 10;
/** Largest header a frame may carry; the reader treats anything bigger as a broken peer. */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;
/** Largest payload a frame may carry. */
export const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One decoded frame. */
export interface Frame<H = Record<string, unknown>> {
  /** The decoded JSON header. */
  header: H;
  /** The raw payload bytes, or `null` when the frame has none. */
  payload: Uint8Array | null;
}

/** Raised when a stream carries something that is not a well-formed frame. */
export class ProtocolError extends Error {
  /**
   * Creates the error.
   *
   * @param message what was wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

/**
 * Encodes one frame.
 *
 * @param header JSON-serialisable header
 * @param payload optional raw bytes
 * @returns the bytes to write
 * @throws {TypeError} when the header is not JSON-serialisable (a BigInt, a cycle)
 * @throws {RangeError} when the header or payload is larger than a frame may carry, so that the
 *   sender fails one message instead of the reader declaring the whole stream broken
 *
 * @example
 * ```ts
 * import { encodeFrame } from "./protocol.ts";
 * const bytes = encodeFrame({ t: "ping" });
 * console.assert(bytes[0] === 0x54);
 * ```
 */
export function encodeFrame(header: unknown, payload?: Uint8Array | null): Uint8Array {
  const head = encoder.encode(JSON.stringify(header));
  const bodyLength = payload?.byteLength ?? 0;
  if (head.byteLength > MAX_HEADER_BYTES || bodyLength > MAX_PAYLOAD_BYTES) {
    throw new RangeError(
      `Frame too large: ${head.byteLength} + ${bodyLength} bytes (at most ${MAX_HEADER_BYTES} + ${MAX_PAYLOAD_BYTES})`,
    );
  }
  const out = new Uint8Array(PREFIX + head.byteLength + bodyLength);
  const view = new DataView(out.buffer);
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  view.setUint32(2, head.byteLength);
  view.setUint32(6, bodyLength);
  out.set(head, PREFIX);
  if (payload) out.set(payload, PREFIX + head.byteLength);
  return out;
}

/** Free space the frame buffer has before each read; less, and it is compacted or grown first. */
const MIN_READ_BYTES = 16 * 1024;

/**
 * Splits a byte stream into frames.
 *
 * Bytes are read straight into one buffer that is reused (a BYOB reader). A default reader
 * allocates a fresh 64 KiB chunk for every read: on the benchmark VM that cost a light-load round
 * trip through a pipe 0.15–0.35 ms at each end (the new memory's page faults go through the
 * hypervisor; bench/README.md).
 *
 * @param stream the peer's output: a byte stream, as Deno's pipes are
 * @returns an async iterator of frames; throws {@link ProtocolError} on garbage
 */
export async function* readFrames<H = Record<string, unknown>>(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<Frame<H>> {
  const reader = stream.getReader({ mode: "byob" });
  // Unread bytes are buffer[start, end). The buffer grows by doubling, so a frame that arrives in
  // many small reads is copied a bounded number of times, not once per read.
  let buffer = new Uint8Array(64 * 1024);
  let start = 0;
  let end = 0;
  try {
    while (true) {
      if (buffer.byteLength - end < MIN_READ_BYTES) {
        const live = end - start;
        if (live + MIN_READ_BYTES > buffer.byteLength) {
          const grown = new Uint8Array(buffer.byteLength * 2);
          grown.set(buffer.subarray(start, end));
          buffer = grown;
        } else buffer.copyWithin(0, start, end);
        start = 0;
        end = live;
      }
      const { value, done } = await reader.read(buffer.subarray(end));
      if (done) break;
      // The read took the buffer over and hands it back as `value`: the old view is detached.
      buffer = new Uint8Array(value.buffer);
      end += value.byteLength;
      while (end - start >= PREFIX) {
        if (buffer[start] !== MAGIC_0 || buffer[start + 1] !== MAGIC_1) {
          throw new ProtocolError("Stream is not framed: bad magic");
        }
        const view = new DataView(buffer.buffer, buffer.byteOffset + start);
        const headLength = view.getUint32(2);
        const bodyLength = view.getUint32(6);
        if (headLength > MAX_HEADER_BYTES || bodyLength > MAX_PAYLOAD_BYTES) {
          throw new ProtocolError("Frame too large");
        }
        const total = PREFIX + headLength + bodyLength;
        if (end - start < total) break;
        const headStart = start + PREFIX;
        let header: H;
        try {
          header = JSON.parse(decoder.decode(buffer.subarray(headStart, headStart + headLength)));
        } catch {
          throw new ProtocolError("Frame header is not JSON");
        }
        const payload = bodyLength > 0
          ? buffer.slice(headStart + headLength, headStart + headLength + bodyLength)
          : null;
        start += total;
        yield { header, payload };
      }
      if (start === end) start = end = 0;
    }
  } finally {
    reader.releaseLock();
  }
  if (end > start) throw new ProtocolError("Stream ended inside a frame");
}
