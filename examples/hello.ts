/// <reference types="../types/tana.d.ts" />
/**
 * `GET /hello`: the smallest contract.
 *
 * @module
 */
import type { Request } from "tana:net";

/** Greets the caller. */
export function get(req: Request) {
  return {
    message: "Hello from Tana!",
    contract: req.tana.contract.id,
    timestamp: Date.now(),
  };
}
