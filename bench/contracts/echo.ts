/// <reference types="../../types/tana.d.ts" />
/**
 * Bench workload `bench-echo`: returns the JSON body it was posted.
 *
 * @module
 */
import type { Request } from "tana:net";

/** Echoes the body. */
export function post(_req: Request, body: unknown) {
  return body;
}
