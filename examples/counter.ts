/// <reference types="../types/tana.d.ts" />
/**
 * `GET /counter`: reads the `count` key, which the ledger side of the contract maintains.
 *
 * @module
 */
import { kv } from "tana:kv";

/** The current count (0 before the first increment). */
export async function get() {
  const count = (await kv.get("count")) ?? "0";
  return { count: parseInt(count, 10), timestamp: Date.now() };
}
