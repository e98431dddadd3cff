/**
 * Test helper: what a process is doing, read from `/proc` (Linux).
 *
 * @module
 */

/**
 * CPU time a process has used so far, in clock ticks (1/100 s), all its threads together.
 *
 * @param pid the process
 * @returns user plus system ticks, or 0 once the process is gone
 */
export async function cpuTicks(pid: number): Promise<number> {
  let stat: string;
  try {
    stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  } catch {
    return 0;
  }
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * CPU ticks the processes use together over `ms` (100 per second is one core kept busy).
 *
 * @param pids the processes
 * @param ms how long to watch
 */
export async function ticksOver(pids: number[], ms: number): Promise<number> {
  const sum = async () => (await Promise.all(pids.map(cpuTicks))).reduce((a, b) => a + b, 0);
  const before = await sum();
  await new Promise((r) => setTimeout(r, ms));
  return await sum() - before;
}

/**
 * Whether the process still exists.
 *
 * @param pid the process
 */
export async function alive(pid: number): Promise<boolean> {
  try {
    await Deno.stat(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
