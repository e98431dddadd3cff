/**
 * The one error type that carries an HTTP status and a stable `code` to clients.
 *
 * Everything a client can see goes through {@link EdgeError}; anything else that is thrown
 * becomes a 500 `internal_error` with no detail (the detail goes to the log).
 *
 * @module
 */

/** Stable machine-readable error codes; documented in the README. */
export type ErrorCode =
  | "invalid_contract_id"
  | "invalid_json"
  | "not_found"
  | "contract_not_found"
  | "method_not_allowed"
  | "body_too_large"
  | "contract_error"
  | "invalid_response"
  | "response_too_large"
  | "compile_error"
  | "timeout"
  | "memory_limit_exceeded"
  | "sandbox_crashed"
  | "contract_quarantined"
  | "overloaded"
  | "store_unavailable"
  | "limit_exceeded"
  | "internal_error";

/** An error with an HTTP status and a stable code, safe to show to a client. */
export class EdgeError extends Error {
  /** HTTP status sent to the client. */
  readonly status: number;
  /** Stable code sent to the client in the JSON body. */
  readonly code: ErrorCode;
  /** Extra response headers (e.g. `Allow`, `Retry-After`). */
  readonly headers: Record<string, string>;

  /**
   * Creates the error.
   *
   * @param status HTTP status
   * @param code stable error code
   * @param message message for the client: no host paths, no stack
   * @param headers extra response headers
   */
  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "EdgeError";
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** Thrown by a store when the database cannot be reached; becomes 503 `store_unavailable`. */
export class StoreUnavailableError extends EdgeError {
  /**
   * Creates the error.
   *
   * @param cause the underlying driver error, logged but never shown to clients
   */
  constructor(cause?: unknown) {
    super(503, "store_unavailable", "The contract store is unavailable; try again shortly", {
      "retry-after": "1",
    });
    this.name = "StoreUnavailableError";
    this.cause = cause;
  }
}

/**
 * Thrown by a store for an argument a contract passed that it cannot use (a forged `kv.list`
 * cursor). Unlike other store errors its message is written for the contract and reaches it.
 */
export class InvalidArgumentError extends TypeError {
  /**
   * Creates the error.
   *
   * @param message what was wrong, in the contract's terms
   */
  constructor(message: string) {
    super(message);
    this.name = "TypeError";
  }
}
