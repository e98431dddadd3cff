/**
 * `tana:net` (also `tana/net`): the `Response` a handler may return, and the request type.
 *
 * A `Response` is a frozen object carrying `status`, lower-cased `headers` and `bodyText`, and
 * the brand the worker recognises it by. It is checked here, so that a mistake fails where the
 * contract made it; the bootstrap and the sandbox process check the result again.
 *
 * @module
 */
import type { BrandedResponse, TanaRequest } from "./_runtime.ts";
import { RESPONSE_BRAND } from "./_runtime.ts";

export type { TanaRequest };

/** The request a handler receives (`get(req)`, `post(req, body)`). */
export type Request = TanaRequest;
// Type stripping keeps `import { Request } from "tana/net"` as written, so the name must also
// exist at run time; the request itself is the handler's argument.
/** A run-time placeholder for the `Request` type; always `undefined`. */
export const Request: undefined = undefined;

/** A value JSON can represent exactly. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };
/** A run-time placeholder for the `JsonValue` type; always `undefined`. */
export const JsonValue: undefined = undefined;

/** Response headers: an object, `[name, value]` pairs, or anything iterable as pairs. */
export type ResponseHeadersInit =
  | Record<string, string>
  | Iterable<readonly [string, string]>;

/** Status and headers, as in the Fetch API. */
export interface ResponseInit {
  /** 200–599; default 200. */
  status?: number;
  /** Response headers. */
  headers?: ResponseHeadersInit;
}

const JSON_TYPE = "application/json";
const TEXT_TYPE = "text/plain; charset=utf-8";

/**
 * An HTTP response with an exact status, headers and body.
 *
 * `new Response(body, init)` takes a string (sent as `text/plain` unless a `content-type`
 * header says otherwise) or `null`; for data use {@link Response.json}.
 *
 * @example
 * ```ts
 * import { Response } from "tana:net";
 * export function get() {
 *   return Response.json({ error: "Not found" }, 404, { "cache-control": "no-store" });
 * }
 * ```
 */
export class Response implements BrandedResponse {
  /** Lets the worker tell a `Response` from plain data. */
  readonly [RESPONSE_BRAND] = true as const;
  /** HTTP status, 200–599. */
  readonly status: number;
  /** Header names lower-cased; repeated names joined with `", "`. */
  readonly headers: Record<string, string>;
  /** The body as sent. */
  readonly bodyText: string;

  /**
   * Creates a text response.
   *
   * @param body text, or `null`/`undefined` for an empty body
   * @param init status (default 200) and headers
   * @throws {TypeError} for a body that is not text, or an invalid header
   * @throws {RangeError} for a status outside 200–599
   */
  constructor(body?: string | null, init?: ResponseInit) {
    if (body !== undefined && body !== null && typeof body !== "string") {
      throw new TypeError(
        "Response: body must be a string or null; use Response.json(data) for data",
      );
    }
    this.status = _status(init?.status);
    const headers = _headers(init?.headers);
    if (typeof body === "string" && !("content-type" in headers)) {
      headers["content-type"] = TEXT_TYPE;
    }
    this.headers = Object.freeze(headers);
    this.bodyText = body ?? "";
    Object.freeze(this);
  }

  /**
   * A JSON response.
   *
   * @param data any JSON-serialisable value
   * @param status HTTP status (default 200), or `{ status, headers }`
   * @param headers extra headers; `content-type` defaults to `application/json`
   * @throws {TypeError} when `data` is not JSON-serialisable
   */
  static json(data: unknown, status?: number, headers?: ResponseHeadersInit): Response;
  /** A JSON response with `{ status, headers }`, as in the Fetch API. */
  static json(data: unknown, init?: ResponseInit): Response;
  static json(
    data: unknown,
    status?: number | ResponseInit,
    headers?: ResponseHeadersInit,
  ): Response {
    let text: string | undefined;
    try {
      text = JSON.stringify(data);
    } catch (error) {
      throw new TypeError(
        `Response.json: value is not JSON-serialisable: ${(error as Error).message}`,
      );
    }
    if (text === undefined) {
      throw new TypeError(`Response.json: value is not JSON-serialisable: got ${typeof data}`);
    }
    return _make(text, JSON_TYPE, status, headers);
  }

  /**
   * A plain-text response (`text/plain; charset=utf-8` unless headers say otherwise).
   *
   * @param text the body
   * @param status HTTP status (default 200), or `{ status, headers }`
   * @param headers extra headers
   */
  static text(text: string, status?: number, headers?: ResponseHeadersInit): Response;
  /** A plain-text response with `{ status, headers }`, as in the Fetch API. */
  static text(text: string, init?: ResponseInit): Response;
  static text(
    text: string,
    status?: number | ResponseInit,
    headers?: ResponseHeadersInit,
  ): Response {
    if (typeof text !== "string") throw new TypeError("Response.text: text must be a string");
    return _make(text, TEXT_TYPE, status, headers);
  }
}

function _make(
  body: string,
  contentType: string,
  status: number | ResponseInit | undefined,
  headers: ResponseHeadersInit | undefined,
): Response {
  const init: ResponseInit = status !== null && typeof status === "object"
    ? status
    : { status, headers };
  const merged = _headers(init.headers);
  merged["content-type"] ??= contentType;
  return new Response(body, { status: init.status, headers: merged });
}

function _status(status: unknown): number {
  if (status === undefined) return 200;
  if (typeof status !== "number" || !Number.isInteger(status) || status < 200 || status > 599) {
    throw new RangeError(
      `Response: status must be an integer from 200 to 599, got ${String(status)}`,
    );
  }
  return status;
}

const _TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function _headers(headers: unknown): Record<string, string> {
  // No prototype, so a header named "__proto__" is just a header.
  const out: Record<string, string> = Object.create(null);
  if (headers === undefined || headers === null) return out;
  if (typeof headers !== "object") throw new TypeError("Response: headers must be an object");
  const pairs = Symbol.iterator in headers ? headers as Iterable<unknown> : Object.entries(headers);
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new TypeError("Response: each header must be a [name, value] pair");
    }
    const name = String(pair[0]).toLowerCase();
    const value = String(pair[1]);
    if (!_TOKEN.test(name)) throw new TypeError(`Response: invalid header name "${name}"`);
    if (/[\r\n\0]/.test(value)) {
      throw new TypeError(`Response: header "${name}" has a line break or NUL in its value`);
    }
    out[name] = name in out ? `${out[name]}, ${value}` : value;
  }
  return out;
}

/** The module as one object: `import net from "tana:net"`. */
export default { Response };
