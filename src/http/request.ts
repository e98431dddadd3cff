/**
 * Reading the HTTP request: the contract id, the body (bounded) and the request object a
 * contract receives.
 *
 * @module
 */
import { EdgeError } from "../errors.ts";
import type { TanaRequest } from "../shims/_runtime.ts";
import type { ContractRow } from "../store/types.ts";

/** Contract ids and names: letters, digits, `_`, `-`, `.`, up to 128 characters. */
const CONTRACT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Paths the server answers itself, so no contract may take them as its id or name. */
const RESERVED_IDS = new Set(["health", "ready", "metrics"]);

/**
 * Why a string cannot be a contract id or name in a URL, if it cannot.
 *
 * @param value a proposed id or name
 * @returns the reason, or `null` when the value can be served
 *
 * @example
 * ```ts
 * import { contractIdProblem } from "./request.ts";
 * console.assert(contractIdProblem("hello") === null);
 * console.assert(contractIdProblem("metrics") !== null);
 * ```
 */
export function contractIdProblem(value: string): string | null {
  if (!CONTRACT_ID.test(value)) {
    return "must be 1–128 letters, digits, '_', '-' or '.', starting with a letter or digit";
  }
  if (RESERVED_IDS.has(value)) return "is reserved for the server's own route";
  return null;
}

/** Request ids accepted from clients; anything else is replaced. */
const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The client's `X-Request-Id` when it is sane, else a new UUID. */
export function requestIdOf(req: Request): string {
  const given = req.headers.get("x-request-id");
  return given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}

/**
 * Splits `/{contractId}[/*path]`.
 *
 * @param pathname the URL path
 * @returns the id, the rest of the path (`/` if none) and its segments
 * @throws {EdgeError} 400 `invalid_contract_id`
 */
export function parseContractPath(
  pathname: string,
): { id: string; path: string; params: string[] } {
  const slash = pathname.indexOf("/", 1);
  const rawId = slash === -1 ? pathname.slice(1) : pathname.slice(1, slash);
  let id: string;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    id = "";
  }
  if (!CONTRACT_ID.test(id)) {
    throw new EdgeError(400, "invalid_contract_id", "Invalid contract id in path");
  }
  const path = slash === -1 ? "/" : pathname.slice(slash) || "/";
  const params = path.split("/").filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return { id, path, params };
}

/**
 * Reads and parses a JSON body, refusing more than `maxBytes`.
 *
 * @returns the parsed value, or `null` for an empty body
 * @throws {EdgeError} 413 `body_too_large`, 400 `invalid_json`
 */
export async function readJsonBody(req: Request, maxBytes: number): Promise<unknown> {
  const tooLarge = () =>
    new EdgeError(413, "body_too_large", `Request body exceeds ${maxBytes} bytes`);
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw tooLarge();
  if (!req.body) return null;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.byteLength;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  if (size === 0) return null;
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new EdgeError(400, "invalid_json", "Request body is not valid JSON");
  }
}

/**
 * Builds the plain, structured-clone-safe request object a handler receives.
 *
 * @param req the HTTP request
 * @param url its parsed URL
 * @param parts the parsed contract path
 * @param contract the contract row
 * @param body the parsed body (`null` for GET)
 * @param ip the client address
 */
export function buildTanaRequest(
  req: Request,
  url: URL,
  parts: { path: string; params: string[] },
  contract: ContractRow,
  body: unknown,
  ip: string,
): TanaRequest {
  return {
    url: url.href,
    method: req.method,
    path: parts.path,
    params: parts.params,
    query: Object.fromEntries(url.searchParams),
    headers: Object.fromEntries(req.headers),
    ip,
    body,
    tana: {
      contract: {
        id: contract.id,
        name: contract.name,
        owner: contract.owner,
        version: contract.version,
        codeHash: contract.codeHash,
      },
      caller: null,
      session: null,
    },
  };
}
