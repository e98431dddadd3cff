/**
 * The embedded store on Deno's built-in `node:sqlite`: one file, WAL mode, no server.
 *
 * `node:sqlite` is synchronous; a point query takes about a microsecond, so the methods run
 * inline and only look asynchronous to match {@link Store}.
 *
 * @module
 */

import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
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

type Row = Record<string, SQLInputValue>;

// SQLite primary result codes that mean "the database file cannot be used right now".
const UNAVAILABLE_CODES = new Set([
  5, // SQLITE_BUSY
  6, // SQLITE_LOCKED
  10, // SQLITE_IOERR
  13, // SQLITE_FULL
  14, // SQLITE_CANTOPEN
]);

const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
// 0xFF never occurs in UTF-8, so `prefix || X'FF'` sorts (bytewise) after every key that
// starts with `prefix` and before every other larger key: an exact, index-friendly prefix
// range with no LIKE wildcards to escape.
const KV_LIST_BASE = "SELECT key, metadata FROM kv WHERE contract_id = ? " +
  "AND key >= ? AND key < ? || CAST(X'FF' AS TEXT)";

/** {@link Store} on a SQLite file (the embedded default). */
export class SqliteStore implements SeedableStore {
  /** Always `"sqlite"`. */
  readonly kind = "sqlite" as const;
  /** The database file path. */
  readonly location: string;
  /** Statements executed so far; tests use it to check that batch reads stay bounded. */
  queryCount = 0;

  #db: DatabaseSync;
  /** Commits made through this connection, which its `data_version` does not count. */
  #commits = 0;
  #statements = new Map<string, StatementSync>();

  /**
   * Opens (creating if needed) the database file; does not migrate.
   *
   * @param path file path, or `":memory:"`
   */
  constructor(path: string) {
    this.location = path;
    try {
      this.#db = new DatabaseSync(path);
      // WAL lets readers run while an operator deploys; NORMAL is durable enough with WAL.
      this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
      this.#db.exec("PRAGMA busy_timeout = 5000;");
    } catch (err) {
      throw _mapError(err);
    }
  }

  /**
   * Opens `${dataDir}/tana-edge.db`, creating the directory first.
   *
   * @param dataDir directory that holds the database file
   */
  static async open(dataDir: string): Promise<SqliteStore> {
    await Deno.mkdir(dataDir, { recursive: true });
    return new SqliteStore(`${dataDir.replace(/\/+$/, "")}/tana-edge.db`);
  }

  #stmt(sql: string): StatementSync {
    let stmt = this.#statements.get(sql);
    if (!stmt) {
      stmt = this.#db.prepare(sql);
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  #all(sql: string, ...params: SQLInputValue[]): Row[] {
    this.queryCount++;
    try {
      return this.#stmt(sql).all(...params) as Row[];
    } catch (err) {
      throw _mapError(err);
    }
  }

  #get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    this.queryCount++;
    try {
      return this.#stmt(sql).get(...params) as Row | undefined;
    } catch (err) {
      throw _mapError(err);
    }
  }

  #run(sql: string, ...params: SQLInputValue[]): void {
    this.queryCount++;
    try {
      this.#stmt(sql).run(...params);
    } catch (err) {
      throw _mapError(err);
    }
  }

  /** Runs `fn` in an immediate (write-locked) transaction. */
  #transaction<T>(fn: () => T): T {
    this.#run("BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.#run("COMMIT");
      this.#commits++;
      return result;
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  // Methods wrap their synchronous work in Promise.try so errors reject, never throw.

  /**
   * SQLite's `data_version`, which moves when another connection (the `contracts deploy` command,
   * say) commits, joined with a count of this connection's own commits, which it does not see.
   * After a few ms of idleness this costs about half a point query on the contracts table.
   */
  contractsRevision(): string {
    const { data_version } = this.#get("PRAGMA data_version") as { data_version: number };
    return `${data_version}.${this.#commits}`;
  }

  findContract(idOrName: string): Promise<ContractRow | null> {
    return Promise.try(() => {
      const row = this.#get(
        "SELECT * FROM contracts WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC LIMIT 1",
        idOrName,
      );
      return row ? _contract(row) : null;
    });
  }

  listContracts(): Promise<ContractRow[]> {
    return Promise.try(() => this.#all("SELECT * FROM contracts ORDER BY id").map(_contract));
  }

  async deployContract(input: ContractInput): Promise<ContractRow> {
    const hash = await codeHash(input.source);
    const id = input.id || input.name;
    const active = input.isActive ?? true ? 1 : 0;
    // One upsert: the version moves only when the code changed, and an identical deploy
    // writes nothing (so it does not look like a change to anyone watching).
    const row = this.#get(
      `INSERT INTO contracts (id, name, owner, source, code_hash, is_active, version)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)
       ON CONFLICT (id) DO UPDATE SET
         name = excluded.name, owner = excluded.owner, source = excluded.source,
         is_active = excluded.is_active, code_hash = excluded.code_hash,
         version = contracts.version + (contracts.code_hash <> excluded.code_hash),
         updated_at = ${NOW}
       WHERE contracts.code_hash <> excluded.code_hash OR contracts.name <> excluded.name
         OR contracts.owner <> excluded.owner OR contracts.is_active <> excluded.is_active
       RETURNING *`,
      id,
      input.name,
      input.owner,
      input.source,
      hash,
      active,
    );
    if (!row) return _contract(this.#get("SELECT * FROM contracts WHERE id = ?", id)!);
    this.#commits++;
    return _contract(row);
  }

  kvGet(contractId: string, key: string): Promise<KvEntry | null> {
    return Promise.try(() => {
      const row = this.#get(
        "SELECT value, metadata FROM kv WHERE contract_id = ? AND key = ?",
        contractId,
        key,
      );
      if (!row) return null;
      return {
        value: row.value as string,
        metadata: parseMetadata(row.metadata as string | null),
      };
    });
  }

  kvList(
    contractId: string,
    opts: { prefix?: string; limit?: number; cursor?: string },
  ): Promise<KvListPage> {
    return Promise.try(() => {
      const limit = clampLimit(opts.limit);
      const prefix = opts.prefix ?? "";
      const rows = opts.cursor === undefined
        ? this.#all(`${KV_LIST_BASE} ORDER BY key LIMIT ?`, contractId, prefix, prefix, limit + 1)
        : this.#all(
          `${KV_LIST_BASE} AND key > ? ORDER BY key LIMIT ?`,
          contractId,
          prefix,
          prefix,
          decodeCursor(opts.cursor),
          limit + 1,
        );
      return _page(rows, limit);
    });
  }

  latestBlock(): Promise<Block | null> {
    return Promise.try(() => {
      const row = this.#get("SELECT * FROM blocks ORDER BY height DESC LIMIT 1");
      return row ? _block(row) : null;
    });
  }

  getBlocks(heights: number[]): Promise<(Block | null)[]> {
    return Promise.try(() => {
      if (heights.length === 0) return [];
      const rows = this.#all(
        "SELECT * FROM blocks WHERE height IN (SELECT value FROM json_each(?))",
        JSON.stringify(heights.filter(Number.isSafeInteger)),
      );
      const found = new Map(rows.map((r) => [Number(r.height), _block(r)]));
      return inOrder(heights, found, null);
    });
  }

  getUsers(idsOrUsernames: string[]): Promise<(User | null)[]> {
    return Promise.try(() => {
      if (idsOrUsernames.length === 0) return [];
      const rows = this.#all(
        `SELECT * FROM users WHERE id IN (SELECT value FROM json_each(?1))
           OR username IN (SELECT value FROM json_each(?1))`,
        JSON.stringify(idsOrUsernames),
      );
      return orderUsers(idsOrUsernames, rows.map(_user));
    });
  }

  getBalances(userIds: string[], currencyCode: string): Promise<number[]> {
    return Promise.try(() => {
      if (userIds.length === 0) return [];
      const rows = this.#all(
        `SELECT user_id, amount FROM balances
         WHERE currency_code = ? AND user_id IN (SELECT value FROM json_each(?))`,
        currencyCode,
        JSON.stringify(userIds),
      );
      const found = new Map(rows.map((r) => [r.user_id as string, Number(r.amount)]));
      return inOrder(userIds, found, 0);
    });
  }

  getTransactions(ids: string[]): Promise<(Transaction | null)[]> {
    return Promise.try(() => {
      if (ids.length === 0) return [];
      const rows = this.#all(
        "SELECT * FROM transactions WHERE id IN (SELECT value FROM json_each(?))",
        JSON.stringify(ids),
      );
      const found = new Map(rows.map((r) => [r.id as string, _transaction(r)]));
      return inOrder(ids, found, null);
    });
  }

  migrate(): Promise<string[]> {
    return Promise.try(() => this.#migrate());
  }

  #migrate(): string[] {
    const applied: string[] = [];
    this.#transaction(() => {
      this.#db.exec(BOOTSTRAP);
      const done = new Set(
        this.#all("SELECT version FROM schema_migrations").map((r) => Number(r.version)),
      );
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        if (m.sqlite) this.#db.exec(m.sqlite);
        this.#run("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", m.version, m.name);
        applied.push(m.name);
      }
    });
    return applied;
  }

  schemaVersion(): Promise<number> {
    return Promise.try(() => {
      const exists = this.#get(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
      );
      if (!exists) return 0;
      const row = this.#get("SELECT coalesce(max(version), 0) AS v FROM schema_migrations");
      return Number(row!.v);
    });
  }

  ping(): Promise<void> {
    return Promise.try(() => {
      this.#get("SELECT 1");
    });
  }

  /**
   * A no-op: the only other writer is an operator command in another process, which could not
   * notify us; the contract loader checks {@link contractsRevision} on every request instead.
   */
  watchContracts(_onChange: (change: ContractChange) => void): Promise<() => Promise<void>> {
    return Promise.resolve(() => Promise.resolve());
  }

  seed(data: ChainSeed): Promise<boolean> {
    return Promise.try(() =>
      this.#transaction(() => {
        const used = this.#get(
          `SELECT EXISTS (SELECT 1 FROM blocks) OR EXISTS (SELECT 1 FROM users)
           OR EXISTS (SELECT 1 FROM balances) OR EXISTS (SELECT 1 FROM transactions) AS used`,
        );
        if (used!.used) return false;
        for (const u of data.users) {
          this.#run(
            "INSERT INTO users (id, username, display_name, public_key, created_at) VALUES (?, ?, ?, ?, ?)",
            u.id,
            u.username,
            u.displayName,
            u.publicKey,
            u.createdAt,
          );
        }
        for (const b of data.balances) {
          this.#run(
            "INSERT INTO balances (user_id, currency_code, amount) VALUES (?, ?, ?)",
            b.userId,
            b.currencyCode,
            b.amount,
          );
        }
        for (const b of data.blocks) {
          this.#run(
            `INSERT INTO blocks (height, hash, previous_hash, timestamp, producer, gas_limit,
             gas_used, tx_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
            b.height,
            b.hash,
            b.previousHash,
            b.timestamp,
            b.producer,
            b.gasLimit,
            b.gasUsed,
            b.txCount,
          );
        }
        for (const t of data.transactions) {
          this.#run(
            `INSERT INTO transactions (id, from_id, to_id, amount, currency_code, type, status,
             block_height, timestamp, contract_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            t.id,
            t.from,
            t.to,
            t.amount,
            t.currencyCode,
            t.type,
            t.status,
            t.blockHeight,
            t.timestamp,
            t.contractId,
          );
        }
        for (const e of data.kv) {
          this.#run(
            `INSERT INTO kv (contract_id, key, value, metadata) VALUES (?, ?, ?, ?)
           ON CONFLICT DO NOTHING`,
            e.contractId,
            e.key,
            e.value,
            stringifyMetadata(e.metadata),
          );
        }
        return true;
      })
    );
  }

  close(): Promise<void> {
    if (this.#db.isOpen) {
      this.#statements.clear();
      this.#db.close();
    }
    return Promise.resolve();
  }
}

// Created before reading applied versions, so an empty file reads as version 0.
const BOOTSTRAP = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL DEFAULT (${NOW})
);`;

function _mapError(err: unknown): unknown {
  const errcode = (err as { errcode?: unknown })?.errcode;
  if (typeof errcode === "number" && UNAVAILABLE_CODES.has(errcode & 0xff)) {
    return new StoreUnavailableError(err);
  }
  return err;
}

function _page(rows: Row[], limit: number): KvListPage {
  const complete = rows.length <= limit;
  const keys = rows.slice(0, limit).map((r) => {
    const metadata = parseMetadata(r.metadata as string | null);
    return metadata === null ? { name: r.key as string } : { name: r.key as string, metadata };
  });
  return complete
    ? { keys, list_complete: true }
    : { keys, list_complete: false, cursor: encodeCursor(keys[keys.length - 1].name) };
}

function _contract(r: Row): ContractRow {
  return {
    id: r.id as string,
    name: r.name as string,
    owner: r.owner as string,
    source: r.source as string,
    version: Number(r.version),
    codeHash: r.code_hash as string,
    isActive: Boolean(r.is_active),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

function _block(r: Row): Block {
  return {
    height: Number(r.height),
    timestamp: Number(r.timestamp),
    hash: r.hash as string,
    previousHash: r.previous_hash as string,
    producer: r.producer as string,
    gasLimit: Number(r.gas_limit),
    gasUsed: Number(r.gas_used),
    txCount: Number(r.tx_count),
  };
}

function _user(r: Row): User {
  return {
    id: r.id as string,
    username: r.username as string,
    displayName: r.display_name as string,
    publicKey: (r.public_key as string | null) ?? null,
    createdAt: Number(r.created_at),
  };
}

function _transaction(r: Row): Transaction {
  return {
    id: r.id as string,
    from: (r.from_id as string | null) ?? null,
    to: (r.to_id as string | null) ?? null,
    amount: Number(r.amount),
    currencyCode: r.currency_code as string,
    type: r.type as string,
    status: r.status as string,
    blockHeight: r.block_height === null ? null : Number(r.block_height),
    timestamp: Number(r.timestamp),
    contractId: (r.contract_id as string | null) ?? null,
  };
}
