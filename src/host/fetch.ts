/**
 * `tana:utils` fetch, performed by the server: only to allow-listed hosts, with redirects
 * re-checked, a timeout and a response-size cap.
 *
 * @module
 */
import type { Config } from "../config.ts";
import { HostCallError } from "./capabilities.ts";
import type { FetchResult } from "./ops.ts";

const MAX_REDIRECTS = 5;
const BODY_HEADERS = [
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "content-location",
];
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];
const FORBIDDEN_REQUEST_HEADERS = new Set([
  "host",
  "connection",
  "content-length",
  "transfer-encoding",
]);

/**
 * Tells whether a URL's host is on the allow-list: an exact host (with or without port), or a
 * subdomain of an allowed domain.
 *
 * @example
 * ```ts
 * import { isHostAllowed } from "./fetch.ts";
 * console.assert(isHostAllowed(new URL("https://api.example.com/x"), ["example.com"]));
 * console.assert(!isHostAllowed(new URL("https://evil-example.com/"), ["example.com"]));
 * ```
 */
export function isHostAllowed(url: URL, allow: readonly string[]): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, "");
  const hostPort = `${host}:${url.port || (url.protocol === "https:" ? "443" : "80")}`;
  return allow.some((entry) => {
    if (entry.includes(":")) return entry === hostPort;
    return host === entry || host.endsWith(`.${entry}`);
  });
}

function _blocked(url: URL, allow: readonly string[]): HostCallError {
  const list = allow.length ? allow.join(", ") : "(empty)";
  return new HostCallError(
    "FetchError",
    `Fetch to host "${url.host}" is blocked: it is not on the allow-list (${list})`,
  );
}

/**
 * Performs a contract's fetch.
 *
 * @param args the raw arguments from the sandbox (`FetchArgs`)
 * @param config allow-list, timeout and size cap
 * @returns the answer with a base64 body
 */
export async function fetchAllowed(
  args: Record<string, unknown>,
  config: Config,
): Promise<FetchResult> {
  if (typeof args.url !== "string") throw new HostCallError("TypeError", "url must be a string");
  let url: URL;
  try {
    url = new URL(args.url);
  } catch {
    throw new HostCallError("TypeError", `Invalid URL: ${args.url}`);
  }
  let method = typeof args.method === "string" ? args.method.toUpperCase() : "GET";
  const headers = new Headers();
  if (Array.isArray(args.headers)) {
    for (const pair of args.headers) {
      if (!Array.isArray(pair) || pair.length !== 2) continue;
      const [name, value] = pair.map(String);
      if (!FORBIDDEN_REQUEST_HEADERS.has(name.toLowerCase())) headers.append(name, value);
    }
  }
  let body = typeof args.bodyBase64 === "string" ? _fromBase64(args.bodyBase64) : null;
  const signal = AbortSignal.timeout(config.fetchTimeoutMs);

  for (let hop = 0;; hop++) {
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new HostCallError(
        "FetchError",
        `Fetch supports only http and https, not ${url.protocol}`,
      );
    }
    if (!isHostAllowed(url, config.fetchAllowHosts)) throw _blocked(url, config.fetchAllowHosts);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body,
        redirect: "manual",
        signal,
      });
    } catch (error) {
      throw _transportError(error, url, signal, config);
    }
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      if (hop >= MAX_REDIRECTS) throw new HostCallError("FetchError", "Too many redirects");
      // The Fetch standard's rules: 303 (and 301/302 after POST) turn into a bodiless GET.
      const status = response.status;
      if (
        (status === 303 && method !== "GET" && method !== "HEAD") ||
        ((status === 301 || status === 302) && method === "POST")
      ) {
        method = "GET";
        body = null;
        for (const name of BODY_HEADERS) headers.delete(name);
      }
      const next = new URL(location, url);
      // Credentials never follow a redirect to another origin, even an allowed one.
      if (next.origin !== url.origin) {
        for (const name of CREDENTIAL_HEADERS) headers.delete(name);
      }
      url = next;
      continue;
    }
    const bytes = await _readCapped(response, config.fetchMaxBytes, url, signal, config);
    return {
      status: response.status,
      statusText: response.statusText,
      url: url.href,
      headers: [...response.headers],
      bodyBase64: _toBase64(bytes),
    };
  }
}

async function _readCapped(
  response: Response,
  max: number,
  url: URL,
  signal: AbortSignal,
  config: Config,
): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  const tooBig = () =>
    new HostCallError("FetchError", `Fetch response from ${url.host} exceeds ${max} bytes`);
  if (declared > max) {
    await response.body?.cancel();
    throw tooBig();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body ?? []) {
      size += chunk.byteLength;
      if (size > max) {
        await response.body?.cancel().catch(() => {});
        throw tooBig();
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof HostCallError) throw error;
    throw _transportError(error, url, signal, config);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** The contract-facing error for a fetch that failed in transit or ran out of time. */
function _transportError(
  error: unknown,
  url: URL,
  signal: AbortSignal,
  config: Config,
): HostCallError {
  const message = signal.aborted
    ? `Fetch to ${url.host} timed out after ${config.fetchTimeoutMs} ms`
    : `Fetch to ${url.host} failed: ${(error as Error).message}`;
  return new HostCallError("FetchError", message);
}

function _toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function _fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
