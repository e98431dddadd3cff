/**
 * `tana:utils` (also `tana/utils`): a Fetch-like call performed by the host.
 *
 * Only hosts on the operator's allow-list are reachable; the host also bounds the number of
 * calls per request, their time and the response size, and rejects with a message that says
 * which limit was hit.
 *
 * @module
 */
import { hostCall } from "./_runtime.ts";

/** Request headers: an object, `[name, value]` pairs, or anything iterable as pairs (`Headers`). */
export type FetchHeadersInit =
  | Record<string, string>
  | Iterable<readonly [string, string]>;

/** Options of {@link fetch}. */
export interface FetchInit {
  /** HTTP method; default `"GET"`. */
  method?: string;
  /** Request headers. */
  headers?: FetchHeadersInit;
  /** Text (sent as UTF-8) or bytes; not allowed with GET or HEAD. */
  body?: string | ArrayBuffer | ArrayBufferView | null;
}

/** Response headers, looked up case-insensitively. */
export interface FetchHeaders extends Iterable<[string, string]> {
  /** The value, several values joined with `", "`, or `null`. */
  get(name: string): string | null;
  /** Whether a header with this name is present. */
  has(name: string): boolean;
  /** Pairs with lower-cased names, in the order received. */
  entries(): IterableIterator<[string, string]>;
  /** Calls `callback` for each header, with lower-cased names, in the order received. */
  forEach(callback: (value: string, name: string) => void): void;
}

/** What {@link fetch} resolves to. The body may be read any number of times. */
export interface FetchResponse {
  /** `true` for status 200–299. */
  readonly ok: boolean;
  /** HTTP status code. */
  readonly status: number;
  /** HTTP status text. */
  readonly statusText: string;
  /** Response headers. */
  readonly headers: FetchHeaders;
  /** The final URL, after redirects. */
  readonly url: string;
  /** The body decoded as UTF-8 text. */
  text(): Promise<string>;
  /** Parses the body as JSON; rejects with `SyntaxError` if it is not JSON. */
  json<T = unknown>(): Promise<T>;
  /** The body as bytes. */
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * Fetches a URL through the host, which only reaches allow-listed hosts.
 *
 * @param url an absolute `http:` or `https:` URL
 * @param init method, headers and body
 * @returns the response, with its body already received
 * @throws {TypeError} for an invalid URL, method, header or body
 *
 * @example
 * ```ts
 * import { fetch } from "tana:utils";
 * export async function get() {
 *   const res = await fetch("https://api.example.com/price?pair=BTC-USD");
 *   return res.ok ? await res.json() : { error: res.status };
 * }
 * ```
 */
export async function fetch(url: string | URL, init?: FetchInit): Promise<FetchResponse> {
  init ??= {};
  let target: URL;
  try {
    target = new URL(String(url));
  } catch {
    throw new TypeError(`fetch: invalid URL ${JSON.stringify(String(url))}`);
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    throw new TypeError(`fetch: unsupported protocol "${target.protocol}"; use http: or https:`);
  }
  const method = String(init.method ?? "GET").toUpperCase();
  if (!/^[!#$%&'*+.^_`|~0-9A-Z-]+$/.test(method)) {
    throw new TypeError(`fetch: invalid method ${JSON.stringify(init.method)}`);
  }
  const body = init.body ?? null;
  if (body !== null && (method === "GET" || method === "HEAD")) {
    throw new TypeError(`fetch: a ${method} request cannot have a body`);
  }
  const answer = await hostCall("fetch", {
    url: target.href,
    method,
    headers: _headerPairs(init.headers),
    bodyBase64: body === null ? null : _toBase64(_bodyBytes(body)),
  });
  return _response(answer.status, answer.statusText, answer.url, answer.headers, answer.bodyBase64);
}

function _headerPairs(headers: FetchHeadersInit | undefined): [string, string][] {
  if (headers === undefined || headers === null) return [];
  if (typeof headers !== "object") throw new TypeError("fetch: headers must be an object");
  const source: Iterable<readonly unknown[]> | [string, unknown][] = Symbol.iterator in headers
    ? headers as Iterable<readonly unknown[]>
    : Object.entries(headers);
  const pairs: [string, string][] = [];
  for (const pair of source) {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new TypeError("fetch: each header must be a [name, value] pair");
    }
    pairs.push([String(pair[0]), String(pair[1])]);
  }
  return pairs;
}

const _encoder = new TextEncoder();
const _decoder = new TextDecoder();

function _bodyBytes(body: unknown): Uint8Array {
  if (typeof body === "string") return _encoder.encode(body);
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) {
    return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  }
  throw new TypeError("fetch: body must be a string, an ArrayBuffer or a typed array");
}

// btoa/atob work on "binary strings"; chunking keeps String.fromCharCode's argument list small.
function _toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function _fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function _response(
  status: number,
  statusText: string,
  url: string,
  headerPairs: [string, string][],
  bodyBase64: string,
): FetchResponse {
  let bytes: Uint8Array<ArrayBuffer> | null = null;
  const body = () => bytes ??= _fromBase64(bodyBase64);
  const text = () => _decoder.decode(body());
  return Object.freeze({
    ok: status >= 200 && status <= 299,
    status,
    statusText,
    headers: _headers(headerPairs),
    url,
    text: () => Promise.resolve().then(text),
    json: <T = unknown>() =>
      Promise.resolve().then(() => {
        try {
          return JSON.parse(text()) as T;
        } catch (error) {
          throw new SyntaxError(
            `fetch: body of ${url} is not valid JSON: ${(error as Error).message}`,
          );
        }
      }),
    arrayBuffer: () => Promise.resolve().then(() => body().slice().buffer),
  });
}

function _headers(pairs: [string, string][]): FetchHeaders {
  const list = pairs.map(([name, value]): [string, string] => [name.toLowerCase(), value]);
  const values = (name: string) =>
    list.filter(([n]) => n === name.toLowerCase()).map(([, value]) => value);
  return Object.freeze({
    get(name: string): string | null {
      const found = values(name);
      return found.length === 0 ? null : found.join(", ");
    },
    has: (name: string) => values(name).length > 0,
    entries: () => list.map(([n, v]): [string, string] => [n, v])[Symbol.iterator](),
    forEach(callback: (value: string, name: string) => void): void {
      for (const [name, value] of list) callback(value, name);
    },
    [Symbol.iterator]: () => list.map(([n, v]): [string, string] => [n, v])[Symbol.iterator](),
  });
}

/** The module as one object: `import utils from "tana:utils"`. */
export default { fetch };
