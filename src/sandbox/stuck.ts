/**
 * Finds contract workers that kept running after they were terminated.
 *
 * In Deno 2.9.6 `Worker.terminate()` does not stop a worker that never yields to its event loop:
 * `while (true) {}` in a handler, an endless microtask chain, or `Atomics.wait` kept their thread
 * alive (the first two at 100 % of a core) long after their run had timed out, and a timer
 * started by a handler could begin such a loop after its result was sent. Nothing in the sandbox
 * can tell: a terminated worker sends nothing either way. But Deno names each worker's thread
 * after its id (`worker-<id>`), the sandbox reports which worker ran each run and when it was
 * terminated, and the server may read `/proc`: a thread still there well after its worker was
 * terminated is stuck, and only ending its process stops it.
 *
 * @module
 */

/** How long a terminated worker's thread may take to exit before it counts as stuck. */
export const STUCK_GRACE_MS = 2000;
/** Terminated workers remembered per sandbox; beyond that the oldest are forgotten. */
const MAX_ENDED = 4096;

/** A worker whose thread outlived its termination, and the contract that ran in it. */
export interface StuckWorker {
  /** The worker's id (thread `worker-<id>`). */
  w: number;
  /** The contract whose code ran in it. */
  contractId: string;
}

/** The workers of one sandbox process that were terminated and may not have stopped. */
export class EndedWorkers {
  #ended = new Map<number, { contractId: string; at: number }>();

  /** Workers noted and not yet known to have stopped. */
  get size(): number {
    return this.#ended.size;
  }

  /**
   * Notes that the sandbox terminated a worker that ran a contract's code.
   *
   * @param w the worker's id
   * @param contractId the contract that ran in it
   * @param now the current `performance.now()`
   */
  note(w: number, contractId: string, now: number = performance.now()): void {
    if (!Number.isSafeInteger(w) || w <= 0) return;
    this.#ended.set(w, { contractId, at: now });
    if (this.#ended.size > MAX_ENDED) this.#ended.delete(this.#ended.keys().next().value!);
  }

  /**
   * Compares the noted workers with the threads the process has now. Workers terminated at
   * least {@link STUCK_GRACE_MS} ago are forgotten: those whose thread is gone stopped, and
   * those whose thread is still there are returned as stuck.
   *
   * @param threads the worker ids of the process's threads (see {@link workerThreadIds})
   * @param now the current `performance.now()`
   * @returns the stuck workers, each reported once
   */
  check(threads: Set<number>, now: number = performance.now()): StuckWorker[] {
    const stuck: StuckWorker[] = [];
    for (const [w, { contractId, at }] of this.#ended) {
      if (now - at < STUCK_GRACE_MS) continue;
      this.#ended.delete(w);
      if (threads.has(w)) stuck.push({ w, contractId });
    }
    return stuck;
  }
}

/**
 * The worker ids of a process's threads, from the names Deno gives them (`worker-<id>`).
 *
 * @param pid the sandbox process
 * @returns the ids, or `null` where `/proc` cannot be read (not Linux, or no permission)
 */
export async function workerThreadIds(pid: number): Promise<Set<number> | null> {
  const ids = new Set<number>();
  try {
    for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
      let name: string;
      try {
        name = await Deno.readTextFile(`/proc/${pid}/task/${task.name}/comm`);
      } catch {
        continue; // the thread exited meanwhile
      }
      const match = /^worker-(\d+)\s*$/.exec(name);
      if (match) ids.add(Number(match[1]));
    }
  } catch {
    return null;
  }
  return ids;
}
