/**
 * The store: everything tana-edge reads from the ledger database.
 *
 * Two implementations share this interface and one conformance suite
 * (`tests/store_conformance_test.ts`): {@link import("./sqlite.ts").SqliteStore}
 * for the embedded default and {@link import("./postgres.ts").PostgresStore} for production.
 *
 * @module
 */

/** A contract row as stored; `source` is the TypeScript/JavaScript text as deployed. */
export interface ContractRow {
  /** Unique contract id, used in request paths. */
  id: string;
  /** Human-readable name; lookups fall back to it when no id matches. */
  name: string;
  /** Id of the user who owns the contract. */
  owner: string;
  /** TypeScript/JavaScript source text as deployed. */
  source: string;
  /** Deploy counter; increments only when the code hash changes. */
  version: number;
  /** Lowercase hex SHA-256 of `source`. */
  codeHash: string;
  /** Whether the contract may be served. */
  isActive: boolean;
  /** When the contract was first deployed, as an ISO 8601 string. */
  createdAt: string;
  /** When the row last changed, as an ISO 8601 string. */
  updatedAt: string;
}

/** What `contracts deploy` writes; the version is the previous one plus one. */
export interface ContractInput {
  /** Contract id to create or update. */
  id: string;
  /** Human-readable name. */
  name: string;
  /** Id of the owning user. */
  owner: string;
  /** TypeScript/JavaScript source text. */
  source: string;
  /** Whether the contract may be served; defaults to `true`. */
  isActive?: boolean;
}

/** A KV entry of one contract. */
export interface KvEntry {
  /** The stored string value. */
  value: string;
  /** Any JSON value stored with the key, or `null`. */
  metadata: unknown | null;
}

/** One page of `kv.list`, in the shape of the Workers KV API. */
export interface KvListPage {
  /** Keys on this page, in key order, with metadata when set. */
  keys: { name: string; metadata?: unknown }[];
  /** `true` when this is the last page. */
  list_complete: boolean;
  /** Opaque cursor for the next page; absent on the last page. */
  cursor?: string;
}

/** A block as contracts see it. Timestamps are milliseconds since the epoch. */
export interface Block {
  /** Block number, starting at 0 for genesis. */
  height: number;
  /** Production time in ms since the epoch. */
  timestamp: number;
  /** Hex block hash. */
  hash: string;
  /** Hash of the parent block; all zeros for genesis. */
  previousHash: string;
  /** Id of the validator that produced the block. */
  producer: string;
  /** Maximum gas the block may use. */
  gasLimit: number;
  /** Gas used by the block's transactions. */
  gasUsed: number;
  /** Number of transactions in the block. */
  txCount: number;
}

/** A user as contracts see it. */
export interface User {
  /** Unique user id. */
  id: string;
  /** Unique login name. */
  username: string;
  /** Name shown to people. */
  displayName: string;
  /** The user's public key, or `null` when none is registered. */
  publicKey: string | null;
  /** Registration time in ms since the epoch. */
  createdAt: number;
}

/** A transaction as contracts see it. */
export interface Transaction {
  /** Unique transaction id. */
  id: string;
  /** Sending user id, or `null` (e.g. for mints). */
  from: string | null;
  /** Receiving user id, or `null` (e.g. for contract calls). */
  to: string | null;
  /** Amount moved, in units of `currencyCode`. */
  amount: number;
  /** Currency of `amount`, e.g. `"USD"` or `"TANA"`. */
  currencyCode: string;
  /** Kind of transaction, e.g. `"transfer"`, `"mint"`, `"contract_call"`. */
  type: string;
  /** Lifecycle state, e.g. `"pending"` or `"confirmed"`. */
  status: string;
  /** Height of the including block, or `null` while pending. */
  blockHeight: number | null;
  /** Submission or inclusion time in ms since the epoch. */
  timestamp: number;
  /** Contract the transaction called, or `null`. */
  contractId: string | null;
}

/** A change to the contracts table, as delivered by {@link Store.watchContracts}. */
export interface ContractChange {
  /** The contract id, or `null` when the store only knows "something changed" (e.g. after a reconnect). */
  id: string | null;
  /** The contract name when known, for invalidating name lookups. */
  name?: string | null;
}

/** The read side tana-edge needs, plus the few operator writes (`deploy`, `migrate`). */
export interface Store {
  /** `"sqlite"` or `"postgres"`, for logs and `/ready`. */
  readonly kind: "sqlite" | "postgres";
  /** A human-readable, password-free description of where the data lives. */
  readonly location: string;

  /** Finds a contract by id, or by name when no id matches; inactive rows are returned too. */
  findContract(idOrName: string): Promise<ContractRow | null>;
  /** Lists every contract, ordered by id (operator tool). */
  listContracts(): Promise<ContractRow[]>;
  /** Inserts or updates a contract; the code hash and version are computed by the store. */
  deployContract(input: ContractInput): Promise<ContractRow>;

  /** Reads one KV key of one contract. */
  kvGet(contractId: string, key: string): Promise<KvEntry | null>;
  /** Lists keys of one contract in key order; `cursor` is opaque and stable. */
  kvList(
    contractId: string,
    opts: { prefix?: string; limit?: number; cursor?: string },
  ): Promise<KvListPage>;

  /** The block with the greatest height, or `null` on an empty chain. */
  latestBlock(): Promise<Block | null>;
  /** Blocks by height, same order as asked, `null` for misses. */
  getBlocks(heights: number[]): Promise<(Block | null)[]>;
  /** Users by id or username, same order, `null` for misses. */
  getUsers(idsOrUsernames: string[]): Promise<(User | null)[]>;
  /** Balances of users in one currency, same order, `0` for misses. */
  getBalances(userIds: string[], currencyCode: string): Promise<number[]>;
  /** Transactions by id, same order, `null` for misses. */
  getTransactions(ids: string[]): Promise<(Transaction | null)[]>;

  /** Applies the migrations in `sql/<kind>/` that are not yet recorded; returns their names. */
  migrate(): Promise<string[]>;
  /** The highest applied migration number, 0 for an empty database. */
  schemaVersion(): Promise<number>;
  /** Resolves when the store answers a trivial query; rejects otherwise. */
  ping(): Promise<void>;
  /**
   * A value that changes whenever a contract row may have changed, from this connection or any
   * other, for stores that can tell cheaply and synchronously. With it, the loader caches rows
   * and reads one again only after the value changed.
   */
  contractsRevision?(): string;
  /** Calls `onChange` whenever a contract row changes; returns an unsubscribe function. */
  watchContracts(onChange: (change: ContractChange) => void): Promise<() => Promise<void>>;
  /** Releases connections. */
  close(): Promise<void>;
}
