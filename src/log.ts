/**
 * Structured logging: one JSON object per line on stdout (or readable text with
 * `LOG_FORMAT=pretty`), through LogTape.
 *
 * Categories: `tana-edge.http` (access log), `tana-edge.contract` (captured `console.*` of
 * contracts, tagged with `contractId` and `requestId`), `tana-edge.sandbox`, `tana-edge.store`,
 * `tana-edge.server`.
 *
 * @module
 */
import {
  configure,
  getConsoleSink,
  getLogger,
  getStreamSink,
  getTextFormatter,
  jsonLinesFormatter,
  type Logger as LogTapeLogger,
} from "@logtape/logtape";

/** A LogTape logger, as returned by {@link logger}. */
export type Logger = LogTapeLogger;

/** Sets up the sinks once per process. */
export async function setupLogging(
  level: "debug" | "info" | "warning" | "error",
  format: "json" | "pretty",
): Promise<void> {
  const sink = format === "json"
    ? getStreamSink(Deno.stdout.writable, { formatter: jsonLinesFormatter })
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
 * @param part `http`, `contract`, `sandbox`, `store` or `server`
 * @returns a LogTape logger under the `tana-edge` category
 */
export function logger(part: string): Logger {
  return getLogger(["tana-edge", part]);
}
