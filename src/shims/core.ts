/**
 * `tana:core` (also `tana/core`): captured console output and runtime versions.
 *
 * @module
 */
import { log, runtimeVersions } from "./_runtime.ts";

/** The tana-edge release these shims implement. */
export const TANA_VERSION = "0.1.0";

/** A console whose lines become log records tagged with the contract and request ids. */
export interface TanaConsole {
  /** Logs at level `info` (there is no separate `log` level). */
  log(...args: unknown[]): void;
  /** Logs at level `info`. */
  info(...args: unknown[]): void;
  /** Logs at level `warn`. */
  warn(...args: unknown[]): void;
  /** Logs at level `error`. */
  error(...args: unknown[]): void;
  /** Logs at level `debug`. */
  debug(...args: unknown[]): void;
}

/** Versions of the software running the contract; `"unknown"` where the host did not say. */
export interface TanaVersion {
  /** The tana-edge release, {@link TANA_VERSION}. */
  readonly tana: string;
  /** Deno version. */
  readonly deno: string;
  /** V8 version. */
  readonly v8: string;
  /** TypeScript version. */
  readonly typescript: string;
}

/**
 * Console for contracts; output never reaches the host's stdout raw.
 *
 * @example
 * ```ts
 * import { console } from "tana:core";
 * console.log("count is", 3);
 * ```
 */
export const console: TanaConsole = Object.freeze({
  log: (...args: unknown[]) => log("info", args),
  info: (...args: unknown[]) => log("info", args),
  warn: (...args: unknown[]) => log("warn", args),
  error: (...args: unknown[]) => log("error", args),
  debug: (...args: unknown[]) => log("debug", args),
});

// The bootstrap records the versions (from `Deno.version`, before lockdown) before any shim
// loads; they are read on access.
/**
 * Runtime versions, e.g. `{ tana: "0.1.0", deno: "2.9.6", v8: "…", typescript: "…" }`.
 *
 * @example
 * ```ts
 * import { version } from "tana:core";
 * export function get() { return { tana: version.tana }; }
 * ```
 */
export const version: TanaVersion = Object.freeze({
  tana: TANA_VERSION,
  get deno(): string {
    return runtimeVersions().deno ?? "unknown";
  },
  get v8(): string {
    return runtimeVersions().v8 ?? "unknown";
  },
  get typescript(): string {
    return runtimeVersions().typescript ?? "unknown";
  },
});

/** The module as one object: `import core from "tana:core"`. */
export default { console, version };
