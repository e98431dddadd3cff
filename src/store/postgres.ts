/**
 * The production store on Postgres through postgres.js (`npm:postgres`).
 *
 * Connections: a bounded primary pool for writes, migrations, contract rows and `LISTEN`;
 * an optional second pool (`DATABASE_READ_URL`, e.g. a replica) for KV and chain reads.
 * Contract rows stay on the primary because they are re-read right after a `NOTIFY` from
 * the primary, and a lagging replica would hand back the old row.
 *
 * TLS follows the URL's `sslmode`, which postgres.js reads itself: `disable` (or none) is
 * plain TCP; `prefer`, `allow` and `require` encrypt without verifying the certificate;
 * `verify-ca` / `verify-full` (or `sslrootcert=system`) verify it against the system CAs.
 *
 * `statement_timeout` is sent as a startup parameter, so it holds on every connection
 * without an extra round trip (a PgBouncer in front needs `ignore_startup_parameters`).
 *
 * @module
 */

import postgres from "postgres";
import { StoreUnavailableError } from "../errors.ts";
import { MIGRATIONS } from "./migrations.ts";
import type { ChainSeed, SeedableStore } from "./seed.ts";
import {
  clampLimit,
  codeHash,
  decodeCursor,
  encodeCursor,
  inOrder,
  orderUsers,
  parseMetadata,
  stringifyMetadata,
} from "./_util.ts";
import type {
  Block,
  ContractChange,
  ContractInput,
  ContractRow,
  KvEntry,
  KvListPage,
  Transaction,
  User,
} from "./types.ts";

type Sql = postgres.Sql;
type Row = postgres.Row;

/** Options of {@link PostgresStore}; the durations are milliseconds. */
export interface PostgresStoreOptions {
  /** Primary database URL (`postgres://user:pass@host:port/db?sslmode=...`). */
  url: string;
  /** Optional URL for KV and chain reads (a replica); defaults to the primary. */
  readUrl?: string | null;
  /** Connections per pool; default 10. */
  poolMax?: number;
  /** How long to wait for a new connection; default 2000. */
  connectTimeoutMs?: number;
  /** Server-side `statement_timeout`; default 2000. */
  statementTimeoutMs?: number;
  /** Idle connections are closed after this long; default 30000. */
  idleTimeoutMs?: number;
}

/** Channel the `contracts` trigger notifies (see `sql/postgres/002_contract_notify.sql`). */
export const CONTRACTS_CHANNEL = "tana_contracts";

// Driver and server codes that mean "the database cannot serve us right now", as opposed
// to a bad query. Server codes: class 08 (connection exception), 57P01-57P03 (shutdown,
// cannot connect now), 53300 (too many connections), 57014 (statement timeout), 3D000
// (database gone), 28000/28P01 (login refused).
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01",
  "57P02",
  "57P03",
  "53300",
  "57014",
  "3D000",
  "28000",
  "28P01",
]);

// Failures of a connection that was open when the query started (the server went away
// behind the pool's back); see PostgresStore.#query.
const STALE_CODES = new Set(["EPIPE", "ECONNRESET", "CONNECTION_CLOSED", "57P01", "57P02"]);
// Pool connections die together on a restart; a few retries drain the stale ones.
const STALE_RETRIES = 3;
// While the circuit is open, a fresh connection is tried this often.
const PROBE_INTERVAL_MS = 250;

// Arbitrary constant shared by every tana-edge migrator, so two at once queue up.
const MIGRATION_LOCK = 7_246_113_001;

const BOOTSTRAP = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/**
 * Maps a driver error to {@link StoreUnavailableError} when it is a connection-level
 * failure; returns any other error unchanged.
 *
 * @param err what postgres.js threw
 * @returns the error to throw
 */
export function mapPostgresError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err;
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && (UNAVAILABLE_CODES.has(code) || code.startsWith("08"))) {
    return new StoreUnavailableError(err);
  }
  return err;
}

/** {@link Store} on Postgres (production). */
export class PostgresStore implements SeedableStore {
  /** Always `"postgres"`. */
  readonly kind = "postgres" as const;
  /** `postgres://user@host:port/db` of the primary (and of the read pool), no password. */
  readonly location: string;
  /** Queries issued so far (both pools); tests use it to check batch reads stay bounded. */
  queryCount = 0;

  #primary: _Pool;
  #read: _Pool;
  #listeners = new Set<Sql>();
  #url: string;
  #settings: postgres.Options<Record<string, never>>;
  #guardMs: number;

  /**
   * Creates the pools; connects lazily on the first query (see {@link PostgresStore.ping}).
   *
   * @param options URLs, pool size and timeouts
   */
  constructor(options: PostgresStoreOptions) {
    const connectTimeoutMs = options.connectTimeoutMs ?? 2000;
    const statementTimeoutMs = options.statementTimeoutMs ?? 2000;
    const settings = {
      max: options.poolMax ?? 10,
      // postgres.js takes seconds; fractions work (it multiplies by 1000 for setTimeout).
      connect_timeout: connectTimeoutMs / 1000,
      idle_timeout: (options.idleTimeoutMs ?? 30_000) / 1000,
      connection: { application_name: "tana-edge", statement_timeout: statementTimeoutMs },
      // Migrations print "already exists, skipping" notices; they are not news.
      onnotice: () => {},
    };
    this.#url = options.url;
    this.#settings = settings;
    this.#primary = new _Pool(options.url, settings);
    this.#read = options.readUrl ? new _Pool(options.readUrl, settings) : this.#primary;
    // Client-side backstop for what server timeouts cannot see (a stalled network, a pool
    // queue that never drains): no query waits longer than this.
    this.#guardMs = connectTimeoutMs + statementTimeoutMs + 1000;
    this.location = _describe(options.url) +
      (options.readUrl ? ` (reads: ${_describe(options.readUrl)})` : "");
  }

  /**
   * Builds a store from the server configuration.
   *
   * @param config the `databaseUrl`, `databaseReadUrl`, `dbPoolMax` and timeout fields
   */
  static fromConfig(config: {
    databaseUrl: string | null;
    databaseReadUrl: string | null;
    dbPoolMax: number;
    dbConnectTimeoutMs: number;
    dbStatementTimeoutMs: number;
  }): PostgresStore {
    if (!config.databaseUrl) throw new TypeError("Cannot open Postgres store: no DATABASE_URL");
    return new PostgresStore({
      url: config.databaseUrl,
      readUrl: config.databaseReadUrl,
      poolMax: config.dbPoolMax,
      connectTimeoutMs: config.dbConnectTimeoutMs,
      statementTimeoutMs: config.dbStatementTimeoutMs,
    });
  }

  /**
   * Runs one query with the timeout backstop and error mapping, and counts it.
   *
   * A pooled connection the server has already closed (restart, failover, admin kill) only
   * shows it when used. postgres.js 3.4.9 can then also leave that connection unable to
   * reconnect (it ends in `CONNECT_TIMEOUT` forever; porsager/postgres#1133), so on such
   * errors the whole pool is replaced and the query retried on the new one. Every query
   * sent through here is safe to repeat (reads, and an idempotent upsert). A refused
   * connection is neither retried nor waited for: the database is down, fail fast.
   */
  async #query(pool: _Pool, build: (sql: Sql) => postgres.PendingQuery<Row[]>): Promise<Row[]> {
    for (let attempt = 0;; attempt++) {
      if (pool.down) throw new StoreUnavailableError(new Error("Database unreachable"));
      try {
        return await this.#once(pool.sql, build);
      } catch (err) {
        const code = ((err as Error).cause as { code?: unknown } | undefined)?.code as string;
        if (STALE_CODES.has(code) || code === "CONNECT_TIMEOUT") pool.reset();
        const retry = attempt < STALE_RETRIES && STALE_CODES.has(code);
        // Anything but a slow statement means the database itself is unreachable.
        if (!retry && err instanceof StoreUnavailableError && code !== "57014") pool.trip();
        if (!retry) throw err;
      }
    }
  }

  async #once(sql: Sql, build: (sql: Sql) => postgres.PendingQuery<Row[]>): Promise<Row[]> {
    this.queryCount++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const query = build(sql);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        query.cancel();
        reject(new StoreUnavailableError(new Error(`Query gave no answer in ${this.#guardMs} ms`)));
      }, this.#guardMs);
    });
    try {
      return await Promise.race([query, timeout]);
    } catch (err) {
      throw mapPostgresError(err);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs `fn` in a transaction on the primary, with mapped errors. */
  async #transaction<T>(fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
    this.queryCount++;
    try {
      return await this.#primary.sql.begin(fn) as T;
    } catch (err) {
      throw mapPostgresError(err);
    }
  }

  async findContract(idOrName: string): Promise<ContractRow | null> {
    const rows = await this.#query(
      this.#primary,
      (sql) =>
        sql`SELECT * FROM contracts WHERE id = ${idOrName} OR name = ${idOrName}
            ORDER BY id = ${idOrName} DESC LIMIT 1`,
    );
    return rows.length ? _contract(rows[0]) : null;
  }

  async listContracts(): Promise<ContractRow[]> {
    const rows = await this.#query(
      this.#primary,
      (sql) => sql`SELECT * FROM contracts ORDER BY id`,
    );
    return rows.map(_contract);
  }

  async deployContract(input: ContractInput): Promise<ContractRow> {
    const hash = await codeHash(input.source);
    const id = input.id || input.name;
    const active = input.isActive ?? true;
    // One upsert: the version moves only when the code changed, and an identical deploy
    // writes nothing (so the trigger does not announce a change that did not happen).
    const rows = await this.#query(
      this.#primary,
      (sql) =>
        sql`INSERT INTO contracts (id, name, owner, source, code_hash, is_active, version)
            VALUES (${id}, ${input.name}, ${input.owner}, ${input.source}, ${hash}, ${active}, 1)
            ON CONFLICT (id) DO UPDATE SET
              name = excluded.name, owner = excluded.owner, source = excluded.source,
              is_active = excluded.is_active, code_hash = excluded.code_hash,
              version = contracts.version
                + CASE WHEN contracts.code_hash <> excluded.code_hash THEN 1 ELSE 0 END,
              updated_at = now()
            WHERE (contracts.code_hash, contracts.name, contracts.owner, contracts.is_active)
              IS DISTINCT FROM (excluded.code_hash, excluded.name, excluded.owner,
                                excluded.is_active)
            RETURNING *`,
    );
    if (rows.length) return _contract(rows[0]);
    const existing = await this.#query(
      this.#primary,
      (sql) => sql`SELECT * FROM contracts WHERE id = ${id}`,
    );
    return _contract(existing[0]);
  }

  async kvGet(contractId: string, key: string): Promise<KvEntry | null> {
    const rows = await this.#query(
      this.#read,
      (sql) =>
        sql`SELECT value, metadata FROM kv WHERE contract_id = ${contractId} AND key = ${key}`,
    );
    if (!rows.length) return null;
    return { value: rows[0].value, metadata: parseMetadata(rows[0].metadata) };
  }

  async kvList(
    contractId: string,
    opts: { prefix?: string; limit?: number; cursor?: string },
  ): Promise<KvListPage> {
    const limit = clampLimit(opts.limit);
    const prefix = opts.prefix ?? "";
    const after = opts.cursor === undefined ? null : decodeCursor(opts.cursor);
    // starts_with() compares literally (no LIKE wildcards); `key >= prefix` lets the
    // primary key index start at the prefix. `key` is COLLATE "C": byte order.
    const rows = await this.#query(
      this.#read,
      (sql) =>
        sql`SELECT key, metadata FROM kv
            WHERE contract_id = ${contractId} AND key >= ${prefix} AND starts_with(key, ${prefix})
            ${after === null ? sql`` : sql`AND key > ${after}`}
            ORDER BY key LIMIT ${limit + 1}`,
    );
    const complete = rows.length <= limit;
    const keys = rows.slice(0, limit).map((r) => {
      const metadata = parseMetadata(r.metadata);
      return metadata === null ? { name: r.key as string } : { name: r.key as string, metadata };
    });
    return complete
      ? { keys, list_complete: true }
      : { keys, list_complete: false, cursor: encodeCursor(keys[keys.length - 1].name) };
  }

  async latestBlock(): Promise<Block | null> {
    const rows = await this.#query(
      this.#read,
      (sql) => sql`SELECT * FROM blocks ORDER BY height DESC LIMIT 1`,
    );
    return rows.length ? _block(rows[0]) : null;
  }

  async getBlocks(heights: number[]): Promise<(Block | null)[]> {
    if (heights.length === 0) return [];
    const valid = heights.filter(Number.isSafeInteger).map(String);
    const rows = await this.#query(
      this.#read,
      (sql) => sql`SELECT * FROM blocks WHERE height = ANY(${valid}::bigint[])`,
    );
    const found = new Map(rows.map((r) => [Number(r.height), _block(r)]));
    return inOrder(heights, found, null);
  }

  async getUsers(idsOrUsernames: string[]): Promise<(User | null)[]> {
    if (idsOrUsernames.length === 0) return [];
    const rows = await this.#query(
      this.#read,
      (sql) =>
        sql`SELECT * FROM users
            WHERE id = ANY(${idsOrUsernames}::text[]) OR username = ANY(${idsOrUsernames}::text[])`,
    );
    return orderUsers(idsOrUsernames, rows.map(_user));
  }

  async getBalances(userIds: string[], currencyCode: string): Promise<number[]> {
    if (userIds.length === 0) return [];
    const rows = await this.#query(
      this.#read,
      (sql) =>
        sql`SELECT user_id, amount FROM balances
            WHERE currency_code = ${currencyCode} AND user_id = ANY(${userIds}::text[])`,
    );
    const found = new Map(rows.map((r) => [r.user_id as string, Number(r.amount)]));
    return inOrder(userIds, found, 0);
  }

  async getTransactions(ids: string[]): Promise<(Transaction | null)[]> {
    if (ids.length === 0) return [];
    const rows = await this.#query(
      this.#read,
      (sql) => sql`SELECT * FROM transactions WHERE id = ANY(${ids}::text[])`,
    );
    const found = new Map(rows.map((r) => [r.id as string, _transaction(r)]));
    return inOrder(ids, found, null);
  }

  migrate(): Promise<string[]> {
    return this.#transaction(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
      // The edge statement timeout is for reads; a migration may legitimately take longer.
      await tx`SET LOCAL statement_timeout = 0`;
      await tx.unsafe(BOOTSTRAP);
      const done = new Set(
        (await tx`SELECT version FROM schema_migrations`).map((r) => Number(r.version)),
      );
      const applied: string[] = [];
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        if (m.postgres) await tx.unsafe(m.postgres);
        await tx`INSERT INTO schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
        applied.push(m.name);
      }
      return applied;
    });
  }

  async schemaVersion(): Promise<number> {
    try {
      const rows = await this.#query(
        this.#primary,
        (sql) => sql`SELECT coalesce(max(version), 0) AS v FROM schema_migrations`,
      );
      return Number(rows[0].v);
    } catch (err) {
      if ((err as { code?: string }).code === "42P01") return 0; // undefined_table: never migrated
      throw err;
    }
  }

  async ping(): Promise<void> {
    await this.#query(this.#primary, (sql) => sql`SELECT 1`);
    if (this.#read !== this.#primary) await this.#query(this.#read, (sql) => sql`SELECT 1`);
  }

  /**
   * Subscribes to the `contracts` trigger's notifications.
   *
   * postgres.js keeps a dedicated `LISTEN` connection and re-subscribes after it drops;
   * notifications sent while it was down are lost, so after every (re)subscribe this
   * calls `onChange({ id: null })`, telling the caller to re-validate everything it cached.
   * `onChange` must not throw; an exception it raises is dropped.
   */
  async watchContracts(onChange: (change: ContractChange) => void): Promise<() => Promise<void>> {
    let active = true;
    const emit = (change: ContractChange) => {
      if (!active) return;
      try {
        onChange(change);
      } catch {
        // The listener loop of postgres.js must keep running for the other subscribers.
      }
    };
    this.queryCount++;
    // A client of its own per subscription: replacing the query pool never drops it, and
    // unsubscribing after an outage cannot wait on a connection that died with the old one.
    const client = postgres(this.#url, { ...this.#settings, max: 1 });
    this.#listeners.add(client);
    const end = () => {
      active = false;
      this.#listeners.delete(client);
      return client.end({ timeout: 0 }).catch(() => {});
    };
    try {
      await client.listen(
        CONTRACTS_CHANNEL,
        (payload) => emit(_parseChange(payload)),
        () => emit({ id: null }),
      );
      return async () => {
        await end();
      };
    } catch (err) {
      await end();
      throw mapPostgresError(err);
    }
  }

  seed(data: ChainSeed): Promise<boolean> {
    return this.#transaction(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
      const [{ used }] = await tx`SELECT EXISTS (SELECT 1 FROM blocks)
        OR EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM balances)
        OR EXISTS (SELECT 1 FROM transactions) AS used`;
      if (used) return false;
      const users = data.users.map((u) => ({
        id: u.id,
        username: u.username,
        display_name: u.displayName,
        public_key: u.publicKey,
        created_at: u.createdAt,
      }));
      const balances = data.balances.map((b) => ({
        user_id: b.userId,
        currency_code: b.currencyCode,
        amount: b.amount,
      }));
      const blocks = data.blocks.map((b) => ({
        height: b.height,
        hash: b.hash,
        previous_hash: b.previousHash,
        timestamp: b.timestamp,
        producer: b.producer,
        gas_limit: b.gasLimit,
        gas_used: b.gasUsed,
        tx_count: b.txCount,
      }));
      const transactions = data.transactions.map((t) => ({
        id: t.id,
        from_id: t.from,
        to_id: t.to,
        amount: t.amount,
        currency_code: t.currencyCode,
        type: t.type,
        status: t.status,
        block_height: t.blockHeight,
        timestamp: t.timestamp,
        contract_id: t.contractId,
      }));
      const kv = data.kv.map((e) => ({
        contract_id: e.contractId,
        key: e.key,
        value: e.value,
        metadata: stringifyMetadata(e.metadata),
      }));
      if (users.length) await tx`INSERT INTO users ${tx(users)}`;
      if (balances.length) await tx`INSERT INTO balances ${tx(balances)}`;
      if (blocks.length) await tx`INSERT INTO blocks ${tx(blocks)}`;
      if (transactions.length) await tx`INSERT INTO transactions ${tx(transactions)}`;
      if (kv.length) await tx`INSERT INTO kv ${tx(kv)} ON CONFLICT DO NOTHING`;
      return true;
    });
  }

  async close(): Promise<void> {
    await Promise.all([
      this.#primary.end(),
      this.#read !== this.#primary ? this.#read.end() : undefined,
      ...[...this.#listeners].map((client) => client.end({ timeout: 1 })),
    ]);
  }
}

/** One postgres.js client that can be swapped for a fresh one (see `PostgresStore.#query`). */
class _Pool {
  sql: Sql;
  #url: string;
  #settings: postgres.Options<Record<string, never>>;
  #resetAt = 0;
  #retired: Promise<void>[] = [];
  #probing: Promise<void> | null = null;
  #closed = false;

  constructor(url: string, settings: postgres.Options<Record<string, never>>) {
    this.#url = url;
    this.#settings = settings;
    this.sql = postgres(url, settings);
  }

  /** True while the database is known to be unreachable: queries fail at once. */
  get down(): boolean {
    return this.#probing !== null;
  }

  /**
   * Opens the circuit after a connection-level failure: until a probe on a fresh connection
   * succeeds, every query fails at once instead of queueing behind connection attempts, and
   * the pool is replaced when the database answers again.
   */
  trip(): void {
    if (this.#probing || this.#closed) return;
    this.#probing = (async () => {
      while (!this.#closed) {
        const probe = postgres(this.#url, { ...this.#settings, max: 1 });
        try {
          await probe`SELECT 1`;
          this.reset(true);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, PROBE_INTERVAL_MS));
        } finally {
          await probe.end({ timeout: 0 }).catch(() => {});
        }
      }
      this.#probing = null;
    })();
  }

  /** Replaces the client, at most once a second unless forced; queries in flight finish on the old one. */
  reset(force = false): void {
    const now = performance.now();
    if (!force && now - this.#resetAt < 1000) return;
    this.#resetAt = now;
    const old = this.sql;
    this.sql = postgres(this.#url, this.#settings);
    const ending: Promise<void> = old.end({ timeout: 1 }).catch(() => {}).finally(() => {
      this.#retired = this.#retired.filter((p) => p !== ending);
    });
    this.#retired.push(ending);
  }

  async end(): Promise<void> {
    this.#closed = true;
    await Promise.all([this.sql.end({ timeout: 1 }), ...this.#retired, this.#probing]);
  }
}

/** The URL without its password or query string, for logs. */
function _describe(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : "";
    return `postgres://${user}${u.host}${u.pathname}`;
  } catch {
    return "postgres://(invalid URL)";
  }
}

function _parseChange(payload: string): ContractChange {
  try {
    const p = JSON.parse(payload);
    if (typeof p?.id === "string") {
      return { id: p.id, name: typeof p.name === "string" ? p.name : null };
    }
  } catch {
    // Not ours or malformed: fall through to "something changed".
  }
  return { id: null };
}

function _contract(r: Row): ContractRow {
  return {
    id: r.id,
    name: r.name,
    owner: r.owner,
    source: r.source,
    version: Number(r.version),
    codeHash: r.code_hash,
    isActive: r.is_active,
    createdAt: _iso(r.created_at),
    updatedAt: _iso(r.updated_at),
  };
}

function _iso(value: unknown): string {
  return value instanceof Date ? value.toISOString() : String(value);
}

function _block(r: Row): Block {
  return {
    height: Number(r.height),
    timestamp: Number(r.timestamp),
    hash: r.hash,
    previousHash: r.previous_hash,
    producer: r.producer,
    gasLimit: Number(r.gas_limit),
    gasUsed: Number(r.gas_used),
    txCount: Number(r.tx_count),
  };
}

function _user(r: Row): User {
  return {
    id: r.id,
    username: r.username,
    displayName: r.display_name,
    publicKey: r.public_key ?? null,
    createdAt: Number(r.created_at),
  };
}

function _transaction(r: Row): Transaction {
  return {
    id: r.id,
    from: r.from_id ?? null,
    to: r.to_id ?? null,
    amount: Number(r.amount),
    currencyCode: r.currency_code,
    type: r.type,
    status: r.status,
    blockHeight: r.block_height === null ? null : Number(r.block_height),
    timestamp: Number(r.timestamp),
    contractId: r.contract_id ?? null,
  };
}
