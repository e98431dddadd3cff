/**
 * Deploying the contracts in a folder: used to seed the embedded store and by `deno task dev`.
 *
 * @module
 */
import type { ContractRow, Store } from "../store/types.ts";
import { contractIdProblem } from "../http/request.ts";

/** Owner recorded for example contracts. */
export const EXAMPLE_OWNER = "usr_alice";

/** The folder shipped with tana-edge holding the example contracts. */
export const EXAMPLES_DIR: URL = new URL("../../examples/", import.meta.url);

/** The contract id a file deploys as: its name without the extension. */
export function contractIdOf(fileName: string): string | null {
  const match = /^([A-Za-z0-9][A-Za-z0-9_.-]*)\.(ts|js|mts|mjs)$/.exec(fileName);
  return match && !fileName.endsWith(".d.ts") ? match[1] : null;
}

/**
 * Deploys one contract file, its id and name taken from the file name unless given.
 *
 * @param store where to deploy
 * @param path the file
 * @param opts explicit id, name and owner
 */
export async function deployFile(
  store: Store,
  path: string | URL,
  opts: { id?: string; name?: string; owner?: string } = {},
): Promise<ContractRow> {
  const fileName = String(path).split("/").pop() ?? "";
  const id = opts.id ?? contractIdOf(fileName);
  if (!id) throw new TypeError(`Cannot derive a contract id from "${fileName}": pass --id`);
  const name = opts.name ?? id;
  for (const [what, value] of [["id", id], ["name", name]]) {
    const problem = contractIdProblem(value);
    if (problem) throw new TypeError(`Contract ${what} "${value}" ${problem}`);
  }
  const source = await Deno.readTextFile(path);
  return store.deployContract({
    id,
    name,
    owner: opts.owner ?? EXAMPLE_OWNER,
    source,
  });
}

/**
 * Deploys every contract file of a folder.
 *
 * @param store where to deploy
 * @param dir the folder (defaults to the bundled examples)
 * @returns the deployed rows
 */
export async function deployExamples(
  store: Store,
  dir: string | URL = EXAMPLES_DIR,
): Promise<ContractRow[]> {
  const rows: ContractRow[] = [];
  const base = typeof dir === "string" ? dir.replace(/\/?$/, "/") : dir.href;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !contractIdOf(entry.name)) continue;
    const path = typeof dir === "string" ? base + entry.name : new URL(entry.name, base);
    rows.push(await deployFile(store, path));
  }
  return rows.sort((a, b) => a.id.localeCompare(b.id));
}
