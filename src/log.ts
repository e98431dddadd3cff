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

/** Sets up the sinks once per process. */
export async function setupLogging(
  level: "debug" | "info" | "warning" | "error",
  format: "json" | "pretty",
): Promise<void> {
  const sink = format === "json"
    ? getStreamSink(Deno.stdout.writable, {
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
