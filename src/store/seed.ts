/**
 * A small, believable chain for the embedded default and for tests.
 *
 * The {@link Store} interface has no chain writes (edge handlers are read-only), so each
 * store implements the one narrow write {@link SeedableStore.seed}; this module only holds
 * the data and the "seed once" entry point.
 *
 * @module
 */

import type { Block, Store, Transaction, User } from "./types.ts";

/** One balance row. */
export interface BalanceSeed {
  /** Id of the user holding the balance. */
  userId: string;
  /** Currency of `amount`. */
  currencyCode: string;
  /** Balance in units of `currencyCode`. */
  amount: number;
}

/** One KV row of one contract; `metadata` is any JSON value or `null`. */
export interface KvSeed {
  /** Contract that owns the key. */
  contractId: string;
  /** The KV key. */
  key: string;
  /** The stored string value. */
  value: string;
  /** Any JSON value, or `null`. */
  metadata: unknown | null;
}

/** Plain rows for the chain tables and the KV table. */
export interface ChainSeed {
  /** Rows for the users table. */
  users: User[];
  /** Rows for the balances table. */
  balances: BalanceSeed[];
  /** Rows for the blocks table. */
  blocks: Block[];
  /** Rows for the transactions table. */
  transactions: Transaction[];
  /** Rows for the contract KV table. */
  kv: KvSeed[];
}

/** A store that can load {@link ChainSeed} rows (both built-in stores can). */
export interface SeedableStore extends Store {
  /**
   * Inserts `data` in one transaction when the chain tables (blocks, users, balances,
   * transactions) are all empty; KV rows that already exist are kept.
   *
   * @returns `true` when the rows were inserted, `false` when the chain already had data
   */
  seed(data: ChainSeed): Promise<boolean>;
}

const GENESIS_MS = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const ZERO_HASH = "0".repeat(64);
const HASHES = [
  "40aa34aa724af66f45824db4dd7d70adbe8956f5ea248f636682c8aca5d107a6",
  "7218df4f40cf6a09bcfcb638896bfd34c8b8ab7472d2e2096a9424271fff0fa4",
  "14a2e71d4c4e14183e2150e527770d8ed3a8f8656835537a26d5b33647a13162",
  "55597c928e09ca5517ddcb8ed64f1627a05fc756bca40eab0a8c36e8ba082622",
  "156dfa36519eb8cc676e0e1f53f04aab052cdb19467f2c8ed9a7b926ed41f9cc",
  "ad97692bf66dd8ded479b1d73eef9adc61e507735261b748838e1c6fea78968f",
];
// Roughly six seconds apart, with the jitter real block production has.
const BLOCK_OFFSETS_MS = [0, 6_012, 12_007, 18_031, 24_002, 30_019];
const TX_COUNTS = [0, 2, 2, 1, 2, 0];
const GAS_USED = [0, 42_000, 42_000, 118_350, 42_000, 0];
const PRODUCERS = ["val_genesis", "val_north", "val_south", "val_north", "val_south", "val_north"];

const blocks: Block[] = HASHES.map((hash, height) => ({
  height,
  timestamp: GENESIS_MS + BLOCK_OFFSETS_MS[height],
  hash,
  previousHash: height === 0 ? ZERO_HASH : HASHES[height - 1],
  producer: PRODUCERS[height],
  gasLimit: 30_000_000,
  gasUsed: GAS_USED[height],
  txCount: TX_COUNTS[height],
}));

const users: User[] = [
  {
    id: "usr_alice",
    username: "alice",
    displayName: "Alice Martin",
    publicKey: "ed25519:c4b997143b7bbd8511f29a9911f880182270e4aaf9f8c3735106461f48681e8a",
    createdAt: GENESIS_MS - 86_400_000,
  },
  {
    id: "usr_bob",
    username: "bob",
    displayName: "Bob Okafor",
    publicKey: "ed25519:5bf9c3df2a9b627d5b7f366c280b4ddcec19db5f8178e23f4abf47f58ee52a4f",
    createdAt: GENESIS_MS - 82_800_000,
  },
  {
    id: "usr_carol",
    username: "carol",
    displayName: "Carol Nguyen",
    publicKey: "ed25519:7c5f3750e85f0499cec0a15c85573cb638372a94bdb4b57d1837494cc488ed38",
    createdAt: GENESIS_MS - 3_600_000,
  },
  {
    id: "usr_dave",
    username: "dave",
    displayName: "Dave Fischer",
    publicKey: "ed25519:7a41508143d90264f38ffd6d93d73d4ce4160a3dace11b7873abbdf1c1d38598",
    createdAt: GENESIS_MS + 9_000,
  },
  {
    id: "usr_erin",
    username: "erin",
    displayName: "Erin Walsh",
    publicKey: null,
    createdAt: GENESIS_MS + 20_000,
  },
];

// carol has no TANA row on purpose: a missing balance reads as 0.
const balances: BalanceSeed[] = [
  { userId: "usr_alice", currencyCode: "USD", amount: 1250.5 },
  { userId: "usr_alice", currencyCode: "TANA", amount: 900 },
  { userId: "usr_bob", currencyCode: "USD", amount: 830 },
  { userId: "usr_bob", currencyCode: "TANA", amount: 500 },
  { userId: "usr_carol", currencyCode: "USD", amount: 412.25 },
  { userId: "usr_dave", currencyCode: "USD", amount: 95 },
  { userId: "usr_dave", currencyCode: "TANA", amount: 50 },
  { userId: "usr_erin", currencyCode: "USD", amount: 2000 },
  { userId: "usr_erin", currencyCode: "TANA", amount: 100 },
];

function _tx(
  id: string,
  from: string | null,
  to: string | null,
  amount: number,
  currencyCode: string,
  type: string,
  blockHeight: number | null,
  contractId: string | null = null,
): Transaction {
  return {
    id,
    from,
    to,
    amount,
    currencyCode,
    type,
    status: blockHeight === null ? "pending" : "confirmed",
    blockHeight,
    // Pending transactions carry the time they were submitted, after the last block.
    timestamp: blockHeight === null ? GENESIS_MS + 33_500 : blocks[blockHeight].timestamp - 750,
    contractId,
  };
}

const transactions: Transaction[] = [
  _tx("tx_0001", null, "usr_alice", 1000, "TANA", "mint", 1),
  _tx("tx_0002", null, "usr_bob", 500, "TANA", "mint", 1),
  _tx("tx_0003", "usr_alice", "usr_bob", 25, "USD", "transfer", 2),
  _tx("tx_0004", "usr_carol", "usr_dave", 12.5, "USD", "transfer", 2),
  _tx("tx_0005", "usr_bob", null, 0, "TANA", "contract_call", 3, "counter"),
  _tx("tx_0006", "usr_alice", "usr_dave", 100, "TANA", "transfer", 4),
  _tx("tx_0007", "usr_erin", "usr_alice", 3.75, "USD", "transfer", 4),
  _tx("tx_0008", "usr_alice", null, 0, "TANA", "contract_call", null, "kv-demo"),
];

const kv: KvSeed[] = [
  { contractId: "hello", key: "greeting", value: "Hello from tana-edge", metadata: null },
  { contractId: "counter", key: "count", value: "42", metadata: null },
  {
    contractId: "kv-demo",
    key: "user:alice",
    value: JSON.stringify({ name: "Alice Martin", role: "admin", visits: 17 }),
    metadata: { contentType: "application/json", updatedBy: "usr_alice" },
  },
  { contractId: "kv-demo", key: "user:bob", value: "Bob Okafor", metadata: null },
  { contractId: "kv-demo", key: "user:carol", value: "Carol Nguyen", metadata: null },
  { contractId: "kv-demo", key: "config:theme", value: "dark", metadata: null },
  { contractId: "kv-demo", key: "config:max_items", value: "25", metadata: null },
];

/** The seed chain: 5 users, balances in USD and TANA, 6 blocks, 8 transactions, demo KV. */
export const SEED: Readonly<ChainSeed> = { users, balances, blocks, transactions, kv };

/**
 * Loads {@link SEED} (or `data`) when the chain tables are empty; a no-op otherwise.
 *
 * @param store a migrated store
 * @param data rows to load, {@link SEED} by default
 * @returns whether anything was inserted
 *
 * @example
 * ```ts ignore
 * const store = await openStore(config);
 * await seedChain(store as SeedableStore);
 * ```
 */
export function seedChain(store: SeedableStore, data: ChainSeed = SEED): Promise<boolean> {
  return store.seed(data);
}
