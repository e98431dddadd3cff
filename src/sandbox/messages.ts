/**
 * Message shapes exchanged between the server and a sandbox process (frame headers).
 *
 * @module
 */
import type { Link } from "../contracts/compile.ts";
import type { TanaRequest } from "../shims/_runtime.ts";
import type { Block } from "../store/types.ts";

/** A module shipped to a sandbox: compiled code plus where its imports point. */
export interface ShippedModule {
  /** Module name that import links target. */
  name: string;
  /** The compiled JavaScript. */
  code: string;
  /** Import specifiers to rewrite, in source order. */
  links: Link[];
}

/**
 * Compiled contracts a sandbox keeps, by code hash (least recently run dropped first). The server
 * tracks the same number per sandbox and sends a contract's code only to a sandbox that lacks it.
 */
export const CONTRACTS_KEPT = 128;

/** Per-request limits a sandbox enforces. */
export interface SandboxLimits {
  /** Wall-clock limit of one run, in ms. */
  timeoutMs: number;
  /** Largest result, in bytes. */
  maxResponseBytes: number;
  /** `console.*` lines kept per run. */
  maxLogLines: number;
  /** Longest `console.*` line kept, in bytes. */
  maxLogLineBytes: number;
  /** Host calls allowed per run. */
  maxHostCalls: number;
  /** Resident-size ceiling of a sandbox process; above it the process exits as out of memory. */
  maxRssBytes?: number;
}

/** Server → sandbox. */
export type ToSandbox =
  | {
    t: "init";
    /** The worker bootstrap, the runtime and every shim; `bootstrap` names the entry. */
    modules: ShippedModule[];
    bootstrap: string;
    poolSize: number;
    /** Whether to keep the warm pool filled (see `spawn_ahead.ts`); changed by `pool`. */
    spawnAhead: boolean;
    limits: SandboxLimits;
  }
  | { t: "pool"; spawnAhead: boolean }
  | {
    t: "run";
    rid: number;
    hash: string;
    /**
     * The compiled contract and its import links, sent only when the sandbox may not have this
     * hash yet; a sandbox that has dropped it answers `need`.
     */
    code?: string;
    links?: Link[];
    handler: string;
    request: TanaRequest;
    block: Block | null;
    /** Answers read ahead by the server, by call key (see `src/host/readahead.ts`). */
    readAhead: Record<string, unknown>;
  }
  | { t: "reply"; rid: number; cid: number; ok: boolean; value: unknown }
  | { t: "cancel"; rid: number };

/** Why a run ended without a result. */
export type FailureCode =
  | "contract_error"
  | "invalid_response"
  | "response_too_large"
  | "timeout"
  | "limit_exceeded"
  | "internal_error";

/** Sandbox → server. `chunk` frames carry result bytes as the frame payload. */
export type FromSandbox =
  | { t: "ready"; pid: number }
  | {
    t: "head";
    rid: number;
    status: number;
    headers: Record<string, string>;
    /** Set when this frame's payload is the whole body: no chunk or end frames follow. */
    end?: boolean;
    /** Keys of the read-ahead answers the run used. */
    used: string[];
    /** Set when a primed worker served the run (its contract imported ahead of the request). */
    primed?: boolean;
    /** The id of the worker that ran it, terminated right after (see `stuck.ts`). */
    w?: number;
  }
  | { t: "chunk"; rid: number }
  | { t: "end"; rid: number }
  | {
    t: "fail";
    rid: number;
    code: FailureCode;
    message: string;
    /** As in `head`. */
    w?: number;
    /** As in `head`. */
    primed?: boolean;
  }
  /** The run came without code and this sandbox no longer has it: send the run again with it. */
  | { t: "need"; rid: number }
  | { t: "call"; rid: number; cid: number; op: string; args: unknown }
  | { t: "log"; rid: number; level: "debug" | "info" | "warn" | "error"; text: string }
  | { t: "stats"; rss: number; spawned: number; warm: number }
  /** The contract a worker of this sandbox has imported ahead of its request; `null`: none. */
  | { t: "primed"; contractId: string | null }
  /** A worker that ran the contract's code outside a run's last frame has been terminated. */
  | { t: "ended"; w: number; contractId: string };
