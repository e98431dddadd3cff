/// <reference types="../types/tana.d.ts" />
/**
 * `GET /chain-info`: the latest block, the request context and the runtime versions.
 *
 * @module
 */
import { block } from "tana:block";
import { context } from "tana:context";
import { console, version } from "tana:core";

/** Chain and context as this contract sees them. */
export function get() {
  console.info(`chain-info at height ${block.height}`);
  return {
    block: {
      height: block.height,
      timestamp: block.timestamp,
      hash: block.hash,
      previousHash: block.previousHash,
      producer: block.producer,
      gasLimit: block.gasLimit,
      gasUsed: block.gasUsed,
    },
    context: {
      contractId: block.getContractId(),
      owner: context.owner(),
      caller: context.caller(),
      block: context.block(),
    },
    version,
  };
}
