/// <reference types="../types/tana.d.ts" />
/**
 * `POST /echo[/any/path]`: sends back the JSON body and what the handler saw of the request.
 *
 * @module
 */
import type { Request } from "tana:net";

/** Echoes the body and the request fields. */
export function post(req: Request, body: unknown) {
  return {
    body,
    method: req.method,
    path: req.path,
    params: req.params,
    query: req.query,
    headers: req.headers,
    caller: req.tana.caller,
    contract: req.tana.contract.id,
  };
}
