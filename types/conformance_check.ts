/**
 * Compile-time check that `types/tana.d.ts` matches `src/shims/*.ts`: run
 * `deno check types/conformance_check.ts`. Nothing here runs.
 *
 * @module
 */
/// <reference types="./tana.d.ts" />
import type * as CoreShim from "../src/shims/core.ts";
import type * as KvShim from "../src/shims/kv.ts";
import type * as BlockShim from "../src/shims/block.ts";
import type * as ContextShim from "../src/shims/context.ts";
import type * as UtilsShim from "../src/shims/utils.ts";
import type * as NetShim from "../src/shims/net.ts";
import type * as TxShim from "../src/shims/tx.ts";
import type * as DataShim from "../src/shims/data.ts";
import type * as Core from "tana:core";
import type * as Kv from "tana:kv";
import type * as Block from "tana:block";
import type * as Context from "tana:context";
import type * as Utils from "tana:utils";
import type * as Net from "tana:net";
import type * as Tx from "tana:tx";
import type * as Data from "tana:data";
import type * as CoreAlias from "tana/core";
import type * as KvAlias from "tana/kv";
import type * as BlockAlias from "tana/block";
import type * as ContextAlias from "tana/context";
import type * as UtilsAlias from "tana/utils";
import type * as NetAlias from "tana/net";
import type * as TxAlias from "tana/tx";
import type * as DataAlias from "tana/data";

/** `true` when `A` and `B` are assignable to each other. */
type Same<A, B> = [A] extends [B] ? [B] extends [A] ? true : false : false;
/** `true` when the two modules export the same value names. */
type SameNames<A, B> = Same<keyof A, keyof B>;

/** Each entry must be `true`; a mismatch fails `deno check` here. */
export type Checks = [
  SameNames<typeof CoreShim, typeof Core>,
  Same<typeof CoreShim, typeof Core>,
  Same<CoreShim.TanaConsole, Core.TanaConsole>,
  Same<CoreShim.TanaVersion, Core.TanaVersion>,
  SameNames<typeof KvShim, typeof Kv>,
  Same<typeof KvShim, typeof Kv>,
  Same<KvShim.KvValueType, Kv.KvValueType>,
  Same<KvShim.KvGetOptions, Kv.KvGetOptions>,
  Same<KvShim.KvValueWithMetadata<string>, Kv.KvValueWithMetadata<string>>,
  Same<KvShim.KvListOptions, Kv.KvListOptions>,
  Same<KvShim.KvListKey, Kv.KvListKey>,
  Same<KvShim.KvListResult, Kv.KvListResult>,
  Same<KvShim.KvPutOptions, Kv.KvPutOptions>,
  Same<KvShim.TanaKv, Kv.TanaKv>,
  SameNames<typeof BlockShim, typeof Block>,
  Same<typeof BlockShim, typeof Block>,
  Same<BlockShim.Block, Block.Block>,
  Same<BlockShim.User, Block.User>,
  Same<BlockShim.Transaction, Block.Transaction>,
  Same<BlockShim.TanaBlock, Block.TanaBlock>,
  SameNames<typeof ContextShim, typeof Context>,
  Same<typeof ContextShim, typeof Context>,
  Same<ContextShim.ContextBlock, Context.ContextBlock>,
  Same<ContextShim.TanaContext, Context.TanaContext>,
  SameNames<typeof UtilsShim, typeof Utils>,
  Same<typeof UtilsShim, typeof Utils>,
  Same<UtilsShim.FetchHeadersInit, Utils.FetchHeadersInit>,
  Same<UtilsShim.FetchInit, Utils.FetchInit>,
  Same<UtilsShim.FetchHeaders, Utils.FetchHeaders>,
  Same<UtilsShim.FetchResponse, Utils.FetchResponse>,
  SameNames<typeof NetShim, typeof Net>,
  // The shim's Response also carries the worker's brand, which contracts never name.
  [typeof NetShim] extends [typeof Net] ? true : false,
  Same<InstanceType<typeof NetShim.Response>[keyof Net.Response], Net.Response[keyof Net.Response]>,
  Same<NetShim.TanaRequest, Net.TanaRequest>,
  Same<NetShim.Request, Net.Request>,
  Same<NetShim.JsonValue, Net.JsonValue>,
  Same<NetShim.ResponseHeadersInit, Net.ResponseHeadersInit>,
  Same<NetShim.ResponseInit, Net.ResponseInit>,
  SameNames<typeof TxShim, typeof Tx>,
  Same<typeof TxShim, typeof Tx>,
  Same<TxShim.TransferChange, Tx.TransferChange>,
  Same<TxShim.BalanceChange, Tx.BalanceChange>,
  Same<TxShim.TransactionChange, Tx.TransactionChange>,
  Same<TxShim.TransactionResult, Tx.TransactionResult>,
  Same<TxShim.TanaTx, Tx.TanaTx>,
  SameNames<typeof DataShim, typeof Data>,
  Same<typeof DataShim, typeof Data>,
  Same<DataShim.DataValue, Data.DataValue>,
  Same<DataShim.TanaData, Data.TanaData>,
  Same<typeof CoreAlias, typeof Core>,
  Same<typeof KvAlias, typeof Kv>,
  Same<typeof BlockAlias, typeof Block>,
  Same<typeof ContextAlias, typeof Context>,
  Same<typeof UtilsAlias, typeof Utils>,
  Same<typeof NetAlias, typeof Net>,
  Same<typeof TxAlias, typeof Tx>,
  Same<typeof DataAlias, typeof Data>,
];

/** Fails to compile unless every check is `true`. */
export const allTrue: Checks extends true[] ? true : never = true;
