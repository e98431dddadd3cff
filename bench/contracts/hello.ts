/// <reference types="../../types/tana.d.ts" />
/**
 * Bench workload `bench-hello`: the same handler as `examples/hello.ts`.
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
