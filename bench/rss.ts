/**
 * Resident memory of the server process and its sandbox children, read from `/proc`.
 *
 * @module
 */

/** One reading, in bytes. */
export interface RssReading {
  server: number;
  sandboxes: number;
  total: number;
  /** Number of child processes (sandboxes) seen. */
  children: number;
}

/** Peak readings of a phase, in MB. */
export interface RssPeaks {
  serverMb: number;
  sandboxesMb: number;
  totalMb: number;
}

function _statusField(pid: number, field: string): number {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Direct children of `pid` (every thread's `children` list). */
export function childrenOf(pid: number): number[] {
  const out = new Set<number>();
  try {
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        const text = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`).trim();
        for (const c of text.split(/\s+/)) if (c) out.add(Number(c));
      } catch {
        // thread gone
      }
    }
  } catch {
    // process gone
  }
  return [...out];
}

/** Current VmRSS of the server and the sum over its children. */
export function readRss(pid: number): RssReading {
  const server = _statusField(pid, "VmRSS");
  const kids = childrenOf(pid);
  let sandboxes = 0;
  for (const c of kids) sandboxes += _statusField(c, "VmRSS");
  return { server, sandboxes, total: server + sandboxes, children: kids.length };
}

/** VmHWM (peak RSS over the process lifetime) of the server and of each live child. */
export function readHwm(pid: number): { serverMb: number; sandboxesMb: number[] } {
  return {
    serverMb: mb(_statusField(pid, "VmHWM")),
    sandboxesMb: childrenOf(pid).map((c) => mb(_statusField(c, "VmHWM"))),
  };
}

/** Bytes → MB with one decimal. */
export function mb(bytes: number): number {
  return Math.round(bytes / 1024 / 102.4) / 10;
}

/** Samples RSS every `intervalMs` and keeps the peaks of the current phase. */
export class RssSampler {
  #timer: ReturnType<typeof setInterval>;
  #peak: RssReading = { server: 0, sandboxes: 0, total: 0, children: 0 };

  /**
   * @param pid the server process
   * @param intervalMs sampling period
   */
  constructor(readonly pid: number, intervalMs = 100) {
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Takes one reading now and folds it into the peaks. */
  sample(): RssReading {
    const r = readRss(this.pid);
    this.#peak = {
      server: Math.max(this.#peak.server, r.server),
      sandboxes: Math.max(this.#peak.sandboxes, r.sandboxes),
      total: Math.max(this.#peak.total, r.total),
      children: Math.max(this.#peak.children, r.children),
    };
    return r;
  }

  /** Returns the peaks since the last reset and starts a new phase. */
  reset(): RssPeaks {
    this.sample();
    const p = this.#peak;
    this.#peak = { server: 0, sandboxes: 0, total: 0, children: 0 };
    return { serverMb: mb(p.server), sandboxesMb: mb(p.sandboxes), totalMb: mb(p.total) };
  }

  /** Stops sampling. */
  stop(): void {
    clearInterval(this.#timer);
  }
}
