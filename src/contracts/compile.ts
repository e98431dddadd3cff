/**
 * Compiles module source (contracts, and the in-worker runtime itself) into shippable
 * JavaScript: TypeScript is stripped with amaro, every import is checked, and the position of
 * each import specifier is recorded so the sandbox can point it at the right in-worker module.
 *
 * Runs in the server, once per code hash; never in the worker.
 *
 * @module
 */
import amaro from "amaro";
import { init as lexerReady, parse as lexImports } from "es-module-lexer";

/** Where an import specifier sits in the compiled code and which shipped module it names. */
export interface Link {
  /** Offset of the specifier's first character in the compiled code. */
  start: number;
  /** Offset just past the specifier's last character. */
  end: number;
  /** Name of the shipped module the specifier resolves to. */
  target: string;
}

/** A module ready to ship to a sandbox. */
export interface CompiledModule {
  /** The compiled JavaScript. */
  code: string;
  /** Import specifiers to rewrite, in source order. */
  links: Link[];
  /** Names of everything the module exports. */
  exports: string[];
}

/** Raised when source cannot be compiled or imports something it may not. */
export class CompileError extends Error {
  /**
   * Creates the error.
   *
   * @param message the reason, naming the specifier or the line
   */
  constructor(message: string) {
    super(message);
    this.name = "CompileError";
  }
}

/** Maps an import specifier to a shipped module name, or `null` when it is not allowed. */
export type Resolver = (specifier: string) => string | null;

/** Options of {@link compileModule}. */
export interface CompileOptions {
  /** Shown in error messages (never a host path). Default `contract.ts`. */
  filename?: string;
  /** Permit dynamic `import()`: only the trusted worker bootstrap needs it. */
  allowDynamicImport?: boolean;
  /**
   * Emit the code without comments (and with positions not kept): for the modules every worker
   * loads, whose source each fresh isolate parses again. Contracts keep their positions.
   */
  dropComments?: boolean;
}

await lexerReady;

/**
 * Compiles one module.
 *
 * @param source TypeScript or JavaScript source
 * @param resolve decides which imports are allowed and what they link to
 * @param options file name for messages; whether dynamic `import()` is allowed
 * @returns the compiled module
 * @throws {CompileError} on a syntax error, a forbidden import or any dynamic `import()`
 *
 * @example
 * ```ts
 * import { compileModule } from "./compile.ts";
 * const mod = compileModule(
 *   'import { kv } from "tana:kv"; export function get(): number { return 1 }',
 *   (s) => s === "tana:kv" ? "kv" : null,
 * );
 * console.assert(mod.exports.includes("get") && mod.links[0].target === "kv");
 * ```
 */
export function compileModule(
  source: string,
  resolve: Resolver,
  { filename = "contract.ts", allowDynamicImport = false, dropComments = false }: CompileOptions =
    {},
): CompiledModule {
  const code = dropComments ? _transform(source, filename) : _strip(source, filename);
  let imports, exports;
  try {
    [imports, exports] = lexImports(code, filename);
  } catch (error) {
    const { idx } = error as { idx?: number };
    const where = idx === undefined ? "" : ` (line ${_lineOf(code, idx)})`;
    throw new CompileError(`Cannot parse ${filename}: invalid module syntax${where}`);
  }
  const links: Link[] = [];
  for (const imp of imports) {
    const line = _lineOf(code, imp.ss);
    if (imp.d === -2) continue; // import.meta
    if (imp.d > -1 && allowDynamicImport) continue;
    if (imp.d > -1) {
      throw new CompileError(
        `Cannot load ${filename}: dynamic import() is not allowed (line ${line})`,
      );
    }
    const specifier = imp.n;
    const target = specifier === undefined ? null : resolve(specifier);
    if (target === null) {
      throw new CompileError(
        `Cannot load ${filename}: forbidden import "${
          specifier ?? code.slice(imp.s, imp.e)
        }" (line ${line}); only tana:* modules may be imported`,
      );
    }
    links.push({ start: imp.s, end: imp.e, target });
  }
  return { code, links, exports: exports.map((e) => e.n) };
}

function _strip(source: string, filename: string): string {
  try {
    // Strip-only keeps every position, so contract line numbers in errors stay true.
    return amaro.transformSync(source, { mode: "strip-only", filename }).code;
  } catch (error) {
    if ((error as { code?: string }).code !== "UnsupportedSyntax") {
      throw _syntaxError(error, filename);
    }
  }
  return _transform(source, filename);
}

/** Compiles with swc's code generator, which leaves comments out. */
function _transform(source: string, filename: string): string {
  try {
    return amaro.transformSync(source, { mode: "transform", filename }).code;
  } catch (error) {
    throw _syntaxError(error, filename);
  }
}

function _syntaxError(error: unknown, filename: string): CompileError {
  const e = error as { message?: string; startLine?: number; startColumn?: number };
  const where = e.startLine ? ` at ${filename}:${e.startLine}:${(e.startColumn ?? 0) + 1}` : "";
  return new CompileError(`Cannot compile ${filename}: ${e.message ?? String(error)}${where}`);
}

function _lineOf(code: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index && i < code.length; i++) if (code.charCodeAt(i) === 10) line++;
  return line;
}
