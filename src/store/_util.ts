/**
 * Helpers shared by both store implementations (private to `src/store/`).
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";
import { MAX_LIST_LIMIT } from "../shims/_runtime.ts";

/** Largest (and default) `kv.list` page, as in the Workers KV API. */
export const KV_LIST_MAX: number = MAX_LIST_LIMIT;

/** Lowercase hex SHA-256 of a contract's source text. */
export async function codeHash(source: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(source));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Clamps a requested page size into 1..1000; a missing or non-numeric value means 1000. */
export function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return KV_LIST_MAX;
  return Math.min(KV_LIST_MAX, Math.max(1, Math.trunc(limit)));
}

/** Encodes the last key of a page as an opaque cursor (base64url of its UTF-8 bytes). */
export function encodeCursor(key: string): string {
  const bytes = new TextEncoder().encode(key);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Decodes a cursor made by {@link encodeCursor} back to the key it stands for.
 *
 * @throws {InvalidArgumentError} when the cursor was not made by `kv.list`
 */
export function decodeCursor(cursor: string): string {
  try {
    if (!/^[A-Za-z0-9_-]*$/.test(cursor)) throw new Error("not base64url");
    const binary = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidArgumentError("Invalid KV cursor: pass the cursor returned by kv.list");
  }
}

/** Parses a stored metadata column (JSON text or null). */
export function parseMetadata(text: string | null): unknown | null {
  return text === null ? null : JSON.parse(text);
}

/** Serialises metadata for storage; `undefined` and `null` are stored as SQL NULL. */
export function stringifyMetadata(metadata: unknown): string | null {
  return metadata === undefined || metadata === null ? null : JSON.stringify(metadata);
}

/** Puts rows found by key back into the order they were asked for, `miss` for absent keys. */
export function inOrder<K, R, M>(keys: K[], found: Map<K, R>, miss: M): (R | M)[] {
  return keys.map((k) => found.has(k) ? found.get(k)! : miss);
}

/**
 * Orders users found by id or username as asked; an id match wins over a username match
 * (a username could equal another user's id).
 */
export function orderUsers<U extends { id: string; username: string }>(
  keys: string[],
  users: U[],
): (U | null)[] {
  const byId = new Map(users.map((u) => [u.id, u]));
  const byName = new Map(users.map((u) => [u.username, u]));
  return keys.map((k) => byId.get(k) ?? byName.get(k) ?? null);
}
