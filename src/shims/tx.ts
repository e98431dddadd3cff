/**
 * `tana:tx` (also `tana/tx`, older contracts): staged balance changes.
 *
 * Changes can be staged and inspected, so code shared with `contract()` runs unchanged, but
 * `execute()` always rejects: edge handlers never write.
 *
 * @module
 */
import { ReadOnlyError } from "./_runtime.ts";

export { ReadOnlyError };

/** A staged transfer between two users. */
export interface TransferChange {
  /** Discriminant. */
  type: "transfer";
  /** Sending user id. */
  from: string;
  /** Receiving user id. */
  to: string;
  /** Positive amount, in units of `currency`. */
  amount: number;
  /** Currency code, e.g. `"USD"`. */
  currency: string;
}

/** A staged absolute balance. */
export interface BalanceChange {
  /** Discriminant. */
  type: "balance_update";
  /** User whose balance is set. */
  userId: string;
  /** New non-negative balance, in units of `currency`. */
  amount: number;
  /** Currency code, e.g. `"USD"`. */
  currency: string;
}

/** A change staged with `tx`. */
export type TransactionChange = TransferChange | BalanceChange;

/** What `execute()` resolves to on the ledger; at the edge it always rejects. */
export interface TransactionResult {
  /** Whether the ledger applied the changes. */
  success: boolean;
  /** The changes that were submitted. */
  changes: TransactionChange[];
  /** Gas used by the transaction. */
  gasUsed: number;
  /** Why the transaction failed, when it did. */
  error?: string;
}

/** The `tx` object. */
export interface TanaTx {
  /** Stages a transfer of a positive `amount` of `currency` between two different users. */
  transfer(from: string, to: string, amount: number, currency: string): void;
  /** Stages setting a user's balance to a non-negative `amount`. */
  setBalance(userId: string, amount: number, currency: string): void;
  /** Copies of the changes staged so far, in order. */
  getChanges(): TransactionChange[];
  /** Always rejects with `ReadOnlyError` at the edge. */
  execute(): Promise<TransactionResult>;
}

const staged: TransactionChange[] = [];

/**
 * Transaction staging.
 *
 * @example
 * ```ts
 * import { tx } from "tana:tx";
 * export function get() {
 *   tx.transfer("alice", "bob", 10, "USD");
 *   return { wouldApply: tx.getChanges() };
 * }
 * ```
 */
export const tx: TanaTx = Object.freeze({
  transfer(from: string, to: string, amount: number, currency: string): void {
    _id(from, "tx.transfer", "from");
    _id(to, "tx.transfer", "to");
    if (from === to) throw new TypeError("tx.transfer: from and to must differ");
    _amount(amount, "tx.transfer", false);
    _id(currency, "tx.transfer", "currency");
    staged.push({ type: "transfer", from, to, amount, currency });
  },
  setBalance(userId: string, amount: number, currency: string): void {
    _id(userId, "tx.setBalance", "userId");
    _amount(amount, "tx.setBalance", true);
    _id(currency, "tx.setBalance", "currency");
    staged.push({ type: "balance_update", userId, amount, currency });
  },
  getChanges: (): TransactionChange[] => staged.map((change) => ({ ...change })),
  execute: (): Promise<TransactionResult> =>
    Promise.reject(
      new ReadOnlyError(
        "Transactions cannot be executed in edge handlers; submit them to the ledger from contract()",
      ),
    ),
});

function _id(value: unknown, where: string, name: string): void {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`${where}: ${name} must be a non-empty string`);
  }
}

function _amount(amount: unknown, where: string, zeroAllowed: boolean): void {
  if (typeof amount !== "number" || !Number.isFinite(amount) || amount < 0) {
    throw new RangeError(`${where}: amount must be a finite non-negative number`);
  }
  if (amount === 0 && !zeroAllowed) throw new RangeError(`${where}: amount must be positive`);
}

/** The module as one object: `import tx from "tana:tx"`. */
export default tx;
