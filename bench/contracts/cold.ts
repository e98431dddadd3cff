/// <reference types="../../types/tana.d.ts" />
/**
 * Template of the cold-start workload: the bench deploys N copies, each with a different
 * `VARIANT` (so a different code hash), and times the first request to each.
 *
 * @module
 */
import type { Request } from "tana:net";

interface Reply {
  variant: number;
  contract: string;
  tags: string[];
}

const VARIANT: number = 0;

/** Answers with its variant number. */
export function get(req: Request): Reply {
  const tags: string[] = ["cold", `v${VARIANT}`];
  return { variant: VARIANT, contract: req.tana.contract.id, tags };
}
