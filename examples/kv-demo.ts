/// <reference types="../types/tana.d.ts" />
/**
 * `GET /kv-demo?key=greeting` reads one key with its metadata;
 * `GET /kv-demo?prefix=user:&limit=10&cursor=…` lists keys a page at a time.
 *
 * @module
 */
import { kv } from "tana:kv";
import { type Request, Response } from "tana:net";

/** Reads one key, or lists keys by prefix. */
export async function get(req: Request) {
  const { key, prefix, cursor } = req.query;
  if (key) {
    const { value, metadata } = await kv.getWithMetadata(key);
    if (value === null) return Response.json({ error: `No key "${key}"` }, 404);
    return { key, value, metadata };
  }
  const limit = req.query.limit ? Number(req.query.limit) : 100;
  if (!Number.isInteger(limit) || limit < 1) {
    return Response.json({ error: "limit must be a positive integer" }, 400);
  }
  const page = await kv.list({ prefix, limit, cursor });
  return {
    prefix: prefix ?? "",
    keys: page.keys.map((k) => k.name),
    complete: page.list_complete,
    cursor: page.cursor ?? null,
  };
}
