/**
 * Configuration: environment variables (and a few flags) → one typed, validated {@link Config}.
 *
 * Order of precedence, as in postgres.js: explicit override → environment variable → default.
 * An invalid value stops start-up with a message naming the variable.
 *
 * @module
 */

/** Everything the server can be configured with. Every field has a documented default. */
export interface Config {
  /** `PORT`: TCP port to listen on. */
  port: number;
  /** `HOST`: interface to bind. */
  hostname: string;
  /** `DATABASE_URL`: Postgres URL; empty means the embedded SQLite store. */
  databaseUrl: string | null;
  /** `DATABASE_READ_URL`: optional Postgres URL used for reads (a replica). */
  databaseReadUrl: string | null;
  /** `DATA_DIR`: where the embedded SQLite database lives. */
  dataDir: string;
  /** `DB_POOL_MAX`: connections per Postgres pool. */
  dbPoolMax: number;
  /** `DB_CONNECT_TIMEOUT_MS`: how long to wait for a Postgres connection. */
  dbConnectTimeoutMs: number;
  /** `DB_STATEMENT_TIMEOUT_MS`: Postgres `statement_timeout` for edge queries. */
  dbStatementTimeoutMs: number;
  /** `CONTRACT_RECHECK_MS`: how often cached contract rows are re-validated as a fallback. */
  contractRecheckMs: number;
  /** `NEGATIVE_CACHE_TTL_MS`: how long an unknown contract id is remembered as unknown. */
  negativeCacheTtlMs: number;
  /** `COMPILE_CACHE_SIZE`: compiled modules kept, by code hash. */
  compileCacheSize: number;

  /** `SANDBOX_PROCESSES`: zero-permission sandbox processes. */
  sandboxProcesses: number;
  /** `SANDBOX_POOL_SIZE`: warm (pre-spawned, never used) workers per sandbox process. */
  sandboxPoolSize: number;
  /** `SANDBOX_CONCURRENCY`: requests running at once in one sandbox process. */
  sandboxConcurrency: number;
  /** `SANDBOX_HEAP_MB`: V8 heap limit of each sandbox isolate (worker or process). */
  sandboxHeapMb: number;
  /** `SANDBOX_MAX_REQUESTS`: a sandbox is drained and replaced after this many requests. */
  sandboxMaxRequests: number;
  /** `SANDBOX_MAX_RSS_MB`: a sandbox is drained and replaced above this resident size. */
  sandboxMaxRssMb: number;
  /**
   * `CONTRACT_CONCURRENCY`: runs of one contract at once across all sandboxes; default: every
   * slot but one (`SANDBOX_PROCESSES` × `SANDBOX_CONCURRENCY` − 1), so one tenant can never hold
   * them all.
   */
  contractConcurrency: number;
  /** `QUEUE_SIZE`: requests waiting for a sandbox slot before 503 `overloaded`. */
  queueSize: number;
  /** `QUEUE_TIMEOUT_MS`: longest wait for a sandbox slot before 503 `overloaded`. */
  queueTimeoutMs: number;
  /**
   * `QUEUE_OVERLOAD_TIMEOUT_MS`: the same, for a request that joins the queue while requests are
   * being shed (sustained overload rather than a burst).
   */
  queueOverloadTimeoutMs: number;
  /** `QUARANTINE_THRESHOLD`: sandbox crashes or stuck workers in the window that quarantine a contract. */
  quarantineThreshold: number;
  /** `QUARANTINE_WINDOW_MS`: the window crashes are counted in. */
  quarantineWindowMs: number;
  /** `QUARANTINE_MS`: how long a quarantined contract is refused. */
  quarantineMs: number;

  /** `REQUEST_TIMEOUT_MS`: wall-clock limit of one contract run. */
  requestTimeoutMs: number;
  /** `MAX_BODY_BYTES`: largest accepted request body. */
  maxBodyBytes: number;
  /** `MAX_RESPONSE_BYTES`: largest contract result. */
  maxResponseBytes: number;
  /** `MAX_LOG_LINES`: `console.*` lines kept per request (the rest are counted and dropped). */
  maxLogLines: number;
  /** `MAX_LOG_LINE_BYTES`: longest `console.*` line kept (longer ones are truncated). */
  maxLogLineBytes: number;
  /** `MAX_HOST_CALLS`: host calls (KV, block, fetch) per request. */
  maxHostCalls: number;
  /** `READ_AHEAD_MAX`: stable reads performed before a request runs (0 turns read-ahead off). */
  readAheadMax: number;
  /** `FETCH_ALLOW_HOSTS`: comma-separated hosts `tana:utils` fetch may reach (and their subdomains). */
  fetchAllowHosts: string[];
  /** `MAX_FETCHES`: fetches per request. */
  maxFetches: number;
  /** `FETCH_TIMEOUT_MS`: timeout of one fetch. */
  fetchTimeoutMs: number;
  /** `FETCH_MAX_BYTES`: largest fetch response body. */
  fetchMaxBytes: number;

  /** `CORS_ORIGIN`: value of `Access-Control-Allow-Origin`; empty disables CORS headers. */
  corsOrigin: string;
  /** `LOG_LEVEL`: `debug`, `info`, `warning` or `error`. */
  logLevel: "debug" | "info" | "warning" | "error";
  /** `LOG_FORMAT`: `json` (one object per line) or `pretty`. */
  logFormat: "json" | "pretty";
}

/** Raised when a configuration value is invalid; the message names the variable. */
export class ConfigError extends Error {
  /**
   * Creates the error.
   *
   * @param message names the variable and what is wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Environment variables by name, as from `Deno.env.toObject()`. */
export type Env = Record<string, string | undefined>;

function _int(env: Env, name: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER) {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return def;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(
      `Invalid ${name}: expected an integer from ${min} to ${max}, got "${raw}"`,
    );
  }
  return value;
}

function _oneOf<T extends string>(env: Env, name: string, def: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === "") return def;
  if (!allowed.includes(raw as T)) {
    throw new ConfigError(`Invalid ${name}: expected one of ${allowed.join(", ")}, got "${raw}"`);
  }
  return raw as T;
}

function _headerValue(env: Env, name: string, def: string): string {
  const raw = env[name] ?? def;
  // Checked once here: a value `Headers` refuses would otherwise fail every response.
  try {
    new Headers({ [name]: raw });
  } catch {
    throw new ConfigError(`Invalid ${name}: not a valid HTTP header value`);
  }
  return raw;
}

function _url(env: Env, name: string): string | null {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`Invalid ${name}: not a URL`);
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new ConfigError(`Invalid ${name}: expected a postgres:// URL, got "${url.protocol}"`);
  }
  return raw;
}

function _hosts(env: Env, name: string): string[] {
  const raw = env[name] ?? "";
  const hosts = raw.split(",").map((h) => h.trim().toLowerCase()).filter(Boolean);
  for (const host of hosts) {
    if (!/^[a-z0-9.-]+(:\d+)?$/.test(host)) {
      throw new ConfigError(`Invalid ${name}: "${host}" is not a host name`);
    }
  }
  return hosts;
}

/** Number of cores, used for the default sandbox count. */
function _cores(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/**
 * Builds the configuration from environment variables.
 *
 * @param env the environment (defaults to `Deno.env.toObject()`)
 * @param overrides explicit values (from flags) that win over the environment
 * @returns the validated configuration
 * @throws {ConfigError} naming the first invalid variable
 *
 * @example
 * ```ts
 * import { loadConfig } from "./config.ts";
 * const config = loadConfig({ PORT: "9000" });
 * console.assert(config.port === 9000);
 * ```
 */
export function loadConfig(
  env: Env = Deno.env.toObject(),
  overrides: Partial<Config> = {},
): Config {
  const config: Config = {
    port: _int(env, "PORT", 8180, 0, 65535),
    hostname: env.HOST || "0.0.0.0",
    databaseUrl: _url(env, "DATABASE_URL"),
    databaseReadUrl: _url(env, "DATABASE_READ_URL"),
    dataDir: env.DATA_DIR || "./data",
    dbPoolMax: _int(env, "DB_POOL_MAX", 10, 1, 1000),
    dbConnectTimeoutMs: _int(env, "DB_CONNECT_TIMEOUT_MS", 2000, 100),
    dbStatementTimeoutMs: _int(env, "DB_STATEMENT_TIMEOUT_MS", 2000, 10),
    contractRecheckMs: _int(env, "CONTRACT_RECHECK_MS", 30_000, 100),
    negativeCacheTtlMs: _int(env, "NEGATIVE_CACHE_TTL_MS", 1000, 0),
    compileCacheSize: _int(env, "COMPILE_CACHE_SIZE", 256, 1),

    sandboxProcesses: _int(env, "SANDBOX_PROCESSES", _cores(), 1, 64),
    // Each warm worker holds 7–8 MB; three per sandbox cover the light and 70 % loads measured
    // (bench/README.md), and 2 is the least that still warms up (a refill warms up only while
    // another worker waits ahead of it).
    sandboxPoolSize: _int(env, "SANDBOX_POOL_SIZE", 3, 0, 256),
    sandboxConcurrency: _int(env, "SANDBOX_CONCURRENCY", 4, 1, 1024),
    sandboxHeapMb: _int(env, "SANDBOX_HEAP_MB", 128, 16, 16384),
    sandboxMaxRequests: _int(env, "SANDBOX_MAX_REQUESTS", 10_000, 1),
    sandboxMaxRssMb: _int(env, "SANDBOX_MAX_RSS_MB", 768, 64),
    queueSize: _int(env, "QUEUE_SIZE", 4, 0),
    queueTimeoutMs: _int(env, "QUEUE_TIMEOUT_MS", 500, 1),
    queueOverloadTimeoutMs: _int(env, "QUEUE_OVERLOAD_TIMEOUT_MS", 10, 1),
    contractConcurrency: 0, // resolved below: it depends on the sandbox settings
    quarantineThreshold: _int(env, "QUARANTINE_THRESHOLD", 3, 1),
    quarantineWindowMs: _int(env, "QUARANTINE_WINDOW_MS", 60_000, 1),
    quarantineMs: _int(env, "QUARANTINE_MS", 60_000, 1),

    requestTimeoutMs: _int(env, "REQUEST_TIMEOUT_MS", 5000, 10),
    maxBodyBytes: _int(env, "MAX_BODY_BYTES", 1024 * 1024, 0),
    maxResponseBytes: _int(env, "MAX_RESPONSE_BYTES", 1024 * 1024, 2),
    maxLogLines: _int(env, "MAX_LOG_LINES", 100, 0),
    maxLogLineBytes: _int(env, "MAX_LOG_LINE_BYTES", 4096, 16),
    maxHostCalls: _int(env, "MAX_HOST_CALLS", 1000, 0),
    readAheadMax: _int(env, "READ_AHEAD_MAX", 16, 0, 64),
    fetchAllowHosts: _hosts(env, "FETCH_ALLOW_HOSTS"),
    maxFetches: _int(env, "MAX_FETCHES", 10, 0),
    fetchTimeoutMs: _int(env, "FETCH_TIMEOUT_MS", 5000, 10),
    fetchMaxBytes: _int(env, "FETCH_MAX_BYTES", 1024 * 1024, 0),

    corsOrigin: _headerValue(env, "CORS_ORIGIN", "*"),
    logLevel: _oneOf(env, "LOG_LEVEL", "info", ["debug", "info", "warning", "error"] as const),
    logFormat: _oneOf(env, "LOG_FORMAT", "json", ["json", "pretty"] as const),
    ...overrides,
  };
  const slots = config.sandboxProcesses * config.sandboxConcurrency;
  config.contractConcurrency = overrides.contractConcurrency ??
    _int(env, "CONTRACT_CONCURRENCY", Math.max(1, slots - 1), 1, 1_000_000);
  return config;
}
