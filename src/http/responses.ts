/**
 * Turns errors into responses: the one place an {@link EdgeError} becomes HTTP.
 *
 * @module
 */
import { EdgeError } from "../errors.ts";

/**
 * Builds a JSON response.
 *
 * @param body JSON-serialisable body
 * @param status HTTP status
 * @param headers extra headers
 */
export function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  const h = new Headers(headers);
  h.set("content-type", "application/json");
  return new Response(JSON.stringify(body), { status, headers: h });
}

/**
 * The response for an error: `{ error, code, requestId }` with the error's status; anything that
 * is not an {@link EdgeError} becomes 500 `internal_error` with no detail.
 *
 * @param error what was thrown
 * @param requestId echoed in the body
 */
export function errorResponse(error: unknown, requestId: string): Response {
  const e = error instanceof EdgeError
    ? error
    : new EdgeError(500, "internal_error", "Internal server error");
  return json({ error: e.message, code: e.code, requestId }, e.status, e.headers);
}
