/**
 * A small least-recently-used map: the oldest entry goes when the size limit is reached.
 *
 * @module
 */

/**
 * A bounded map that forgets the least recently used entry first.
 *
 * @example
 * ```ts
 * import { LruCache } from "./lru.ts";
 * const cache = new LruCache<string, number>(2);
 * cache.set("a", 1); cache.set("b", 2); cache.get("a"); cache.set("c", 3);
 * console.assert(cache.get("b") === undefined && cache.get("a") === 1);
 * ```
 */
export class LruCache<K, V> {
  #map = new Map<K, V>();

  /**
   * Creates an empty cache.
   *
   * @param max most entries kept
   */
  constructor(readonly max: number) {}

  /** The value for `key`, marking it most recently used. */
  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, value);
    return value;
  }

  /** Stores a value, evicting the least recently used entry when full. */
  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.max) this.#map.delete(this.#map.keys().next().value!);
  }

  /** Removes one entry. */
  delete(key: K): void {
    this.#map.delete(key);
  }

  /** Removes every entry. */
  clear(): void {
    this.#map.clear();
  }

  /** Number of entries. */
  get size(): number {
    return this.#map.size;
  }

  /** A snapshot of the entries, oldest first. */
  entries(): [K, V][] {
    return [...this.#map.entries()];
  }
}
