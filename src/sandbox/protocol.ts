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
/** Largest header accepted; anything bigger means a broken or hostile peer. */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;
/** Largest payload accepted. */
const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;

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

/**
 * Splits a byte stream into frames.
 *
 * @param stream the peer's output
 * @returns an async iterator of frames; throws {@link ProtocolError} on garbage
 */
export async function* readFrames<H = Record<string, unknown>>(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<Frame<H>> {
  let buffer: Uint8Array = new Uint8Array(0);
  for await (const chunk of stream) {
    buffer = buffer.byteLength === 0 ? chunk : _concat(buffer, chunk);
    let offset = 0;
    while (buffer.byteLength - offset >= PREFIX) {
      if (buffer[offset] !== MAGIC_0 || buffer[offset + 1] !== MAGIC_1) {
        throw new ProtocolError("Stream is not framed: bad magic");
      }
      const view = new DataView(buffer.buffer, buffer.byteOffset + offset);
      const headLength = view.getUint32(2);
      const bodyLength = view.getUint32(6);
      if (headLength > MAX_HEADER_BYTES || bodyLength > MAX_PAYLOAD_BYTES) {
        throw new ProtocolError("Frame too large");
      }
      const total = PREFIX + headLength + bodyLength;
      if (buffer.byteLength - offset < total) break;
      const headStart = offset + PREFIX;
      let header: H;
      try {
        header = JSON.parse(decoder.decode(buffer.subarray(headStart, headStart + headLength)));
      } catch {
        throw new ProtocolError("Frame header is not JSON");
      }
      const payload = bodyLength > 0
        ? buffer.slice(headStart + headLength, headStart + headLength + bodyLength)
        : null;
      offset += total;
      yield { header, payload };
    }
    buffer = offset === 0 ? buffer : buffer.slice(offset);
  }
  if (buffer.byteLength > 0) throw new ProtocolError("Stream ended inside a frame");
}

function _concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
