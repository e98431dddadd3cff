/// <reference types="../../types/tana.d.ts" />
/**
 * Bench workload `bench-kv`: three KV reads and one block query, each awaited in turn (four
 * host round trips), as a typical read handler does.
 *
 * @module
 */
import { kv } from "tana:kv";
import { block } from "tana:block";

/** Reads three seeded keys and one block. */
export async function get() {
  const name = await kv.get("name");
  const role = await kv.get("role");
  const visits = await kv.get("visits");
  const genesis = await block.getBlock(1);
  return { name, role, visits: Number(visits), block: genesis?.hash ?? null };
}
