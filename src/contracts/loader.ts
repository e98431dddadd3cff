/**
 * Contract loading: id or name → active contract row → compiled module, with caches.
 *
 * - Compiled modules are cached by code hash (an LRU), so a contract compiles once however many
 *   names point at it, and a failed compile is remembered as well.
 * - Rows are cached. The embedded SQLite store says on every request whether any row may have
 *   changed since (`contractsRevision`, cheaper than the lookup it saves: 0.1–0.15 ms of a
 *   light-load request here), so its rows are always fresh. Postgres rows are dropped on `NOTIFY`
 *   and re-checked after `CONTRACT_RECHECK_MS` as a fallback; while Postgres is unreachable,
 *   cached rows keep being served.
 * - Unknown ids are remembered for `NEGATIVE_CACHE_TTL_MS`, so a flood of them does not become a
 *   flood of queries.
 *
 * @module
 */
import type { Config } from "../config.ts";
import { EdgeError, StoreUnavailableError } from "../errors.ts";
import type { Metrics } from "../http/metrics.ts";
import { logger } from "../log.ts";
import { resolveContractImport } from "../sandbox/modules.ts";
import type { ContractChange, ContractRow, Store } from "../store/types.ts";
import { type CompiledModule, CompileError, compileModule } from "./compile.ts";
import { LruCache } from "./lru.ts";

const log = logger("contracts");

/** Most unknown ids remembered at once. */
const NEGATIVE_CACHE_MAX = 10_000;
/** Most contract rows cached at once (Postgres). */
const ROW_CACHE_MAX = 10_000;
/** How often the Postgres connection is probed, to notice an outage ending. */
const PROBE_INTERVAL_MS = 1000;

/** A contract ready to run. */
export interface LoadedContract {
  /** The contract row as stored. */
  row: ContractRow;
  /** The compiled module. */
  module: CompiledModule;
  /** Export to call per HTTP method (`get` preferred over the older `Get`). */
  handlers: { GET?: string; POST?: string };
  /** Whether the contract imports `tana:block` or `tana:context` (needs the latest block). */
  needsBlock: boolean;
}

/** Loads and caches contracts. */
export class ContractLoader {
  #compiled: LruCache<string, CompiledModule | CompileError>;
  #rows = new LruCache<string, { row: ContractRow; checkedAt: number }>(ROW_CACHE_MAX);
  #unknown = new LruCache<string, number>(NEGATIVE_CACHE_MAX);
  /** Lookups in progress, so a burst for one key becomes one query. */
  #lookups = new Map<string, Promise<ContractRow | null>>();
  /** Bumped by every invalidation; a lookup that spans one is not cached. */
  #generation = 0;
  #unwatch: (() => Promise<void>) | null = null;
  #probe: ReturnType<typeof setInterval> | undefined;
  #storeDown = false;
  #renewing = false;
  /** The store's last `contractsRevision()`, for stores that have one. */
  #revision: string | undefined;

  /**
   * Creates a loader with empty caches.
   *
   * @param store where contracts live
   * @param config cache sizes and timings
   * @param metrics compile-cache and invalidation counters
   */
  constructor(readonly store: Store, readonly config: Config, readonly metrics: Metrics) {
    this.#compiled = new LruCache(config.compileCacheSize);
  }

  /**
   * Subscribes to contract changes (Postgres `NOTIFY`) and, for Postgres, probes the database
   * once a second: when it comes back after an outage, every cached row is dropped (changes made
   * meanwhile were never notified) and the subscription is renewed.
   */
  async start(): Promise<void> {
    await this.#watch();
    if (this.store.kind === "postgres") {
      this.#probe = setInterval(() => void this.#checkStore(), PROBE_INTERVAL_MS);
    }
  }

  /** Unsubscribes and stops probing. */
  async stop(): Promise<void> {
    clearInterval(this.#probe);
    await this.#unwatch?.();
  }

  async #watch(): Promise<void> {
    const previous = this.#unwatch;
    this.#unwatch = null;
    // The old subscription's connection may be dead; unsubscribing it must not block renewal.
    void previous?.().catch(() => {});
    this.#unwatch = await this.store.watchContracts((change) =>
      this.invalidate(change, change.id === null ? "reconnect" : "notify")
    );
  }

  async #checkStore(): Promise<void> {
    try {
      await this.store.ping();
    } catch {
      if (!this.#storeDown) log.warn("Store unreachable; serving cached contracts", {});
      this.#storeDown = true;
      return;
    }
    if (!this.#storeDown || this.#renewing) return;
    this.#renewing = true;
    try {
      await this.#watch();
      this.#storeDown = false;
      this.invalidate({ id: null }, "reconnect");
      log.info("Store reachable again; caches dropped and notifications renewed", {});
    } catch {
      // Still not able to subscribe: try again on the next probe.
    } finally {
      this.#renewing = false;
    }
  }

  /**
   * Drops cached rows and negative entries for a changed contract; `id: null` drops all.
   *
   * @param change what changed
   * @param source for metrics: `notify`, `reconnect`, …
   */
  invalidate(change: ContractChange, source = "notify"): void {
    this.metrics.invalidations.inc({ source });
    // A lookup in flight may have read the row before the change: it must not be cached, nor
    // joined by requests that arrive after the change.
    this.#generation++;
    this.#lookups.clear();
    if (change.id === null) {
      this.#rows.clear();
      this.#unknown.clear();
      return;
    }
    for (const [key, entry] of this.#rows.entries()) {
      if (entry.row.id === change.id || key === change.id || key === change.name) {
        this.#rows.delete(key);
      }
    }
    this.#unknown.delete(change.id);
    if (change.name) this.#unknown.delete(change.name);
  }

  /**
   * Finds an active contract and its compiled module.
   *
   * @param idOrName from the URL
   * @throws {EdgeError} 404 `contract_not_found`, 500 `compile_error`, 503 `store_unavailable`
   */
  async load(idOrName: string): Promise<LoadedContract> {
    const row = await this.#findRow(idOrName);
    if (!row || !row.isActive) {
      throw new EdgeError(404, "contract_not_found", `No active contract "${idOrName}"`);
    }
    const module = this.#compile(row);
    const exports = new Set(module.exports);
    const pick = (a: string, b: string) => exports.has(a) ? a : exports.has(b) ? b : undefined;
    return {
      row,
      module,
      handlers: { GET: pick("get", "Get"), POST: pick("post", "Post") },
      needsBlock: module.links.some((l) => l.target === "block" || l.target === "context"),
    };
  }

  async #findRow(key: string): Promise<ContractRow | null> {
    const now = Date.now();
    const revisioned = this.#checkRevision();
    const unknownUntil = this.#unknown.get(key);
    if (unknownUntil !== undefined && unknownUntil > now) return null;
    const cached = this.#rows.get(key);
    if (cached && (revisioned || now - cached.checkedAt < this.config.contractRecheckMs)) {
      return cached.row;
    }
    let row: ContractRow | null;
    const generation = this.#generation;
    try {
      let lookup = this.#lookups.get(key);
      if (!lookup) {
        const started: Promise<ContractRow | null> = this.store.findContract(key).finally(() => {
          if (this.#lookups.get(key) === started) this.#lookups.delete(key);
        });
        this.#lookups.set(key, lookup = started);
      }
      row = await lookup;
    } catch (error) {
      if (error instanceof StoreUnavailableError && cached) {
        // Serve what we know while the database is away; a failed request is counted where
        // it is answered instead.
        this.metrics.storeUnavailable.inc();
        return cached.row;
      }
      throw error;
    }
    if (generation !== this.#generation) return row; // changed meanwhile: use once, do not keep
    if (row === null) {
      if (this.config.negativeCacheTtlMs > 0) {
        this.#unknown.set(key, now + this.config.negativeCacheTtlMs);
      }
    } else {
      this.#rows.set(key, { row, checkedAt: now });
    }
    return row;
  }

  /**
   * For a store with `contractsRevision`: drops every cached row and unknown id when the revision
   * moved (a contract deployed after its 404 is found at once), and says whether the cache may be
   * trusted without a time limit. A store that cannot answer leaves nothing cached to trust.
   */
  #checkRevision(): boolean {
    if (!this.store.contractsRevision) return false;
    let revision: string | undefined;
    try {
      revision = this.store.contractsRevision();
    } catch {
      // The lookup that follows meets the same failure and reports it.
    }
    if (revision !== undefined && revision === this.#revision) return true;
    if (this.#revision !== undefined || this.#rows.size > 0 || this.#unknown.size > 0) {
      this.invalidate({ id: null }, "revision");
    }
    this.#revision = revision;
    return revision !== undefined;
  }

  #compile(row: ContractRow): CompiledModule {
    let entry = this.#compiled.get(row.codeHash);
    if (entry) this.metrics.compileCache.inc({ result: "hit" });
    else {
      this.metrics.compileCache.inc({ result: "miss" });
      const started = performance.now();
      try {
        entry = compileModule(row.source, resolveContractImport);
        log.debug("Compiled contract {contractId} in {ms} ms", {
          contractId: row.id,
          codeHash: row.codeHash,
          ms: Math.round((performance.now() - started) * 1000) / 1000,
        });
      } catch (error) {
        if (!(error instanceof CompileError)) throw error;
        entry = error;
      }
      this.#compiled.set(row.codeHash, entry);
    }
    if (entry instanceof CompileError) throw new EdgeError(500, "compile_error", entry.message);
    return entry;
  }
}
