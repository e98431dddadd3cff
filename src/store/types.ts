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
  id: string;
  name: string;
  owner: string;
  source: string;
  version: number;
  codeHash: string;
  isActive: boolean;
  createdAt: string;
  updatedAt: string;
}

/** What `contracts deploy` writes. Missing `id` means "derive from name"; version auto-increments. */
export interface ContractInput {
  id: string;
  name: string;
  owner: string;
  source: string;
  isActive?: boolean;
}

/** A KV entry of one contract. */
export interface KvEntry {
  value: string;
  metadata: unknown | null;
}

/** One page of `kv.list`, in the shape of the Workers KV API. */
export interface KvListPage {
  keys: { name: string; metadata?: unknown }[];
  list_complete: boolean;
  cursor?: string;
}

/** A block as contracts see it. Timestamps are milliseconds since the epoch. */
export interface Block {
  height: number;
  timestamp: number;
  hash: string;
  previousHash: string;
  producer: string;
  gasLimit: number;
  gasUsed: number;
  txCount: number;
}

/** A user as contracts see it. */
export interface User {
  id: string;
  username: string;
  displayName: string;
  publicKey: string | null;
  createdAt: number;
}

/** A transaction as contracts see it. */
export interface Transaction {
  id: string;
  from: string | null;
  to: string | null;
  amount: number;
  currencyCode: string;
  type: string;
  status: string;
  blockHeight: number | null;
  timestamp: number;
  contractId: string | null;
}

/** A change to the contracts table, as delivered by {@link Store.watchContracts}. */
export interface ContractChange {
  /** The contract id, or `null` when the store only knows "something changed" (e.g. after a reconnect). */
  id: string | null;
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
  /** Calls `onChange` whenever a contract row changes; returns an unsubscribe function. */
  watchContracts(onChange: (change: ContractChange) => void): Promise<() => Promise<void>>;
  /** Releases connections. */
  close(): Promise<void>;
}
