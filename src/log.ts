/**
 * Structured logging: one JSON object per line on stdout (or readable text with
 * `LOG_FORMAT=pretty`), through LogTape.
 *
 * Categories: `tana-edge.http` (access log), `tana-edge.contract` (captured `console.*` of
 * contracts, tagged with `contractId` and `requestId`), `tana-edge.host` (host calls that failed
 * inside the server), `tana-edge.contracts` (contract lookups and compiles), `tana-edge.sandbox`,
 * `tana-edge.server`.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import {
  configure,
  dispose,
  getConsoleSink,
  getLogger,
  getStreamSink,
  getTextFormatter,
  jsonLinesFormatter,
  type Logger as LogTapeLogger,
} from "@logtape/logtape";

/** A LogTape logger, as returned by {@link logger}. */
export type Logger = LogTapeLogger;

/** Records buffered before the oldest are dropped (the sink flushes at half of this). */
const LOG_BUFFER_RECORDS = 4000;
/** Longest a record waits in the buffer before it is written. */
const LOG_FLUSH_MS = 50;
/** Bytes gathered for one write beyond which the sink waits for that write to finish. */
const MAX_BATCH_BYTES = 1024 * 1024;

/** Sets up the sinks once per process. */
export async function setupLogging(
  level: "debug" | "info" | "warning" | "error",
  format: "json" | "pretty",
): Promise<void> {
  const sink = format === "json"
    ? getStreamSink(batchedWrites(Deno.stdout.writable), {
      formatter: jsonLinesFormatter,
      // Records are formatted and written off the request path, in batches: written one by one,
      // the access line's formatting and write held up each response by ≈ 0.4 ms (measured at
      // light load on 2 cores). Should LOG_BUFFER_RECORDS records ever be pending at once, the
      // oldest are dropped.
      nonBlocking: { bufferSize: LOG_BUFFER_RECORDS / 2, flushInterval: LOG_FLUSH_MS },
    })
    : getConsoleSink({ formatter: getTextFormatter({ timestamp: "time" }) });
  await configure({
    reset: true,
    sinks: { out: sink },
    loggers: [
      { category: ["tana-edge"], lowestLevel: level, sinks: ["out"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["out"] },
    ],
  });
}

/**
 * A stream that writes to `target`, in one write, whatever it is given within one turn of the
 * event loop. LogTape's non-blocking sink hands over the records of a batch one by one, and each
 * write to stdout is a system call that the runtime makes on another thread, woken for it: one
 * per request, for the access line. Order is kept, and one batch is written at a time; once the
 * next batch reaches {@link MAX_BATCH_BYTES}, the writer waits until it is written, so a stdout
 * that does not drain holds LogTape's sink (which then drops its oldest records) rather than
 * memory growing here. A failed write fails the next one, where LogTape reports it.
 *
 * @param target where the bytes go; closed when this stream is closed
 * @returns a stream to hand to `getStreamSink`
 */
export function batchedWrites(target: WritableStream<Uint8Array>): WritableStream<Uint8Array> {
  const writer = target.getWriter();
  let chunks: Uint8Array[] = [];
  let size = 0;
  /** The next batch's write, set when its first chunk arrives. */
  let scheduled: Promise<void> | null = null;
  /** The batch being written: one at a time, so a stdout that does not drain holds the next. */
  let writing: Promise<void> = Promise.resolve();
  let failure: { error: unknown } | null = null;
  const flush = async (): Promise<void> => {
    await writing;
    const batch = Buffer.concat(chunks, size);
    chunks = [];
    size = 0;
    scheduled = null;
    writing = writer.write(batch).catch((error) => {
      failure ??= { error };
    });
    await writing;
  };
  return new WritableStream<Uint8Array>({
    write(chunk) {
      if (failure) throw failure.error;
      chunks.push(chunk);
      size += chunk.byteLength;
      scheduled ??= new Promise((resolve) => setTimeout(resolve, 0)).then(flush);
      return size >= MAX_BATCH_BYTES ? scheduled : undefined;
    },
    async close() {
      await scheduled;
      if (size > 0) await flush();
      await writing;
      if (failure) throw failure.error;
      await writer.close();
    },
    async abort(reason) {
      await writer.abort(reason);
    },
  });
}

/**
 * Returns the logger of one part of the server.
 *
 * @param part `http`, `contract`, `host`, `contracts`, `sandbox` or `server`
 * @returns a LogTape logger under the `tana-edge` category
 */
export function logger(part: string): Logger {
  return getLogger(["tana-edge", part]);
}

/** Writes every buffered record; call before the process exits. */
export async function flushLogs(): Promise<void> {
  await dispose();
}
