/**
 * The README's configuration table tells the truth: every variable the server reads is listed,
 * with the default `src/config.ts` really uses.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../src/config.ts";

const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
const source = await Deno.readTextFile(new URL("../src/config.ts", import.meta.url));

/** `VAR` → default cell, from the README's configuration table. */
const documented = new Map(
  [...readme.matchAll(/^\| `([A-Z_]+)` +\| ([^|]+?) +\|/gm)].map((m) => [m[1], m[2]]),
);

Deno.test("README documents every environment variable the configuration reads", () => {
  const read = new Set(
    [...source.matchAll(/env(?:\.|, ")([A-Z][A-Z_]+)/g)].map((m) => m[1]),
  );
  assert.ok(read.size > 20, `found only ${read.size} variables in src/config.ts`);
  for (const name of read) assert.ok(documented.has(name), `${name} is not in the README`);
});

Deno.test("README defaults match the numeric defaults in src/config.ts", () => {
  const defaults = [...source.matchAll(/_int\(env, "([A-Z_]+)", ([^,]+),/g)];
  assert.ok(defaults.length > 20);
  for (const [, name, expression] of defaults) {
    if (!/^[\d_ *]+$/.test(expression)) continue; // computed defaults (cores) are described
    const value = expression.replaceAll("_", "").split("*").reduce((a, b) => a * Number(b), 1);
    assert.equal(documented.get(name), `\`${value}\``, `${name} default`);
  }
});

Deno.test("the configuration defaults load without any environment", () => {
  const config = loadConfig({});
  assert.equal(config.port, 8180);
  assert.equal(config.databaseUrl, null);
  assert.equal(documented.get("PORT"), "`8180`");
});
