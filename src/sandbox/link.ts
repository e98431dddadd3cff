/**
 * Points a compiled module's import specifiers at the URLs of the modules they name.
 *
 * @module
 */
import type { Link } from "../contracts/compile.ts";

/**
 * Replaces every linked specifier with the URL of the module it names.
 *
 * @param code compiled code
 * @param links where its specifiers are, in source order
 * @param urls shipped module name → URL
 * @returns code ready to import
 *
 * @example
 * ```ts
 * import { linkModule } from "./link.ts";
 * const code = linkModule('import "x";', [{ start: 8, end: 9, target: "x" }], { x: "blob:1" });
 * console.assert(code === 'import "blob:1";');
 * ```
 */
export function linkModule(code: string, links: Link[], urls: Record<string, string>): string {
  let out = "";
  let last = 0;
  for (const link of links) {
    const url = urls[link.target];
    if (url === undefined) throw new Error(`No URL for module "${link.target}"`);
    out += code.slice(last, link.start) + url;
    last = link.end;
  }
  return out + code.slice(last);
}
