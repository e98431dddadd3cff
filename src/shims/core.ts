/**
 * `tana:core` (also `tana/core`): captured console output and runtime versions.
 *
 * @module
 */
import { log, type RuntimeVersions, runtimeVersions } from "./_runtime.ts";

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

// Shims are loaded before the worker bootstrap removes the `Deno` namespace, so the versions
// are captured here, at load time; the host may still override them through `_setVersions`.
const _loaded: RuntimeVersions = _versionsAtLoad();

// The host may send its versions after the shims load, so these are read on access.
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
    return runtimeVersions().deno ?? _loaded.deno ?? _denoFromUserAgent() ?? "unknown";
  },
  get v8(): string {
    return runtimeVersions().v8 ?? _loaded.v8 ?? "unknown";
  },
  get typescript(): string {
    return runtimeVersions().typescript ?? _loaded.typescript ?? "unknown";
  },
});

// `Deno.version` needs no permission; it is read once, before the namespace is removed.
function _versionsAtLoad(): RuntimeVersions {
  try {
    const found = (globalThis as { Deno?: { version?: Record<string, unknown> } }).Deno?.version;
    if (!found) return {};
    const pick = (name: string): string | undefined => {
      const value = found[name];
      return typeof value === "string" ? value : undefined;
    };
    return { deno: pick("deno"), v8: pick("v8"), typescript: pick("typescript") };
  } catch {
    return {};
  }
}

// Workers keep `navigator.userAgent` ("Deno/2.9.6") even without the Deno namespace.
function _denoFromUserAgent(): string | undefined {
  const agent = (globalThis as { navigator?: { userAgent?: unknown } }).navigator?.userAgent;
  if (typeof agent !== "string") return undefined;
  return /\bDeno\/(\S+)/.exec(agent)?.[1];
}

/** The module as one object: `import core from "tana:core"`. */
export default { console, version };
