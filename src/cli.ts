/**
 * The command line: `serve` (default), `dev`, `migrate`, `contracts deploy|list`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "./config.ts";
import { deployFile, EXAMPLES_DIR } from "./contracts/deploy.ts";
import { flushLogs, logger, setupLogging } from "./log.ts";
import { startServer } from "./server.ts";
import { openStore, StoreOpenError } from "./store/open.ts";
import type { Store } from "./store/types.ts";

const USAGE = `Usage: tana-edge [command] [options]

Commands:
  serve [--port N]                         start the server (default)
  dev [--port N] [--contracts-dir DIR]     serve, and redeploy contract files in DIR when they change
  migrate                                  apply missing database migrations
  health [--port N]                        exit 0 when the local server answers /health (for containers)
  contracts deploy <file> [--id ID] [--name NAME] [--owner OWNER]
  contracts list

Configuration comes from environment variables; see README.md.`;

/**
 * Runs a command.
 *
 * @param args command-line arguments
 * @returns the process exit code
 */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      port: { type: "string" },
      "contracts-dir": { type: "string" },
      id: { type: "string" },
      name: { type: "string" },
      owner: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command = "serve", ...rest] = positionals;
  try {
    const env = Deno.env.toObject();
    if (values.port !== undefined) env.PORT = values.port;
    const config = loadConfig(env);
    await setupLogging(config.logLevel, config.logFormat);
    switch (command) {
      case "serve":
        return await _serve(config);
      case "dev":
        return await _dev(config, values["contracts-dir"]);
      case "health":
        return await _health(config.port);
      case "migrate":
        return await _withStore(config, async (store) => {
          const applied = await store.migrate();
          console.log(
            applied.length ? `Applied: ${applied.join(", ")}` : "Schema is up to date",
          );
        });
      case "contracts":
        return await _contracts(config, rest, values);
      default:
        console.error(`Unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof DeployFailed) return 1;
    if (error instanceof ConfigError || error instanceof StoreOpenError) {
      console.error(`tana-edge: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await flushLogs();
  }
}

/** A deploy that failed and has already said why. */
class DeployFailed extends Error {}

async function _withStore(
  config: ReturnType<typeof loadConfig>,
  fn: (store: Store) => Promise<void>,
): Promise<number> {
  const store = await openStore(config);
  try {
    await fn(store);
    return 0;
  } finally {
    await store.close();
  }
}

async function _contracts(
  config: ReturnType<typeof loadConfig>,
  rest: string[],
  values: { id?: string; name?: string; owner?: string },
): Promise<number> {
  const [sub, file] = rest;
  if (sub === "list") {
    return await _withStore(config, async (store) => {
      for (const c of await store.listContracts()) {
        console.log(
          `${c.id}\t${c.name}\tv${c.version}\t${c.isActive ? "active" : "inactive"}\t${
            c.codeHash.slice(0, 12)
          }\t${c.owner}`,
        );
      }
    });
  }
  if (sub === "deploy" && file) {
    return await _withStore(config, async (store) => {
      let row;
      try {
        row = await deployFile(store, file, values);
      } catch (error) {
        // A bad id, a taken name or an unreadable file: the reason, without a stack trace.
        console.error(`tana-edge: cannot deploy ${file}: ${(error as Error).message}`);
        throw new DeployFailed();
      }
      console.log(`Deployed ${row.id} (name ${row.name}, version ${row.version}, ${row.codeHash})`);
    });
  }
  console.error(USAGE);
  return 2;
}

async function _serve(config: ReturnType<typeof loadConfig>): Promise<number> {
  const server = await startServer(config);
  await _untilSignal();
  logger("server").info("Shutting down");
  await server.shutdown();
  logger("server").info("Stopped");
  return 0;
}

async function _dev(config: ReturnType<typeof loadConfig>, dir?: string): Promise<number> {
  const server = await startServer(config);
  const log = logger("server");
  const folder = dir ?? EXAMPLES_DIR.pathname;
  const watcher = Deno.watchFs(folder);
  log.info("Watching {folder} for contract changes", { folder });
  const redeploy = async (path: string) => {
    try {
      const row = await deployFile(server.store, path);
      log.info("Redeployed {id} (version {version})", { id: row.id, version: row.version });
    } catch (error) {
      log.warn("Cannot deploy {path}: {error}", { path, error: (error as Error).message });
    }
  };
  void (async () => {
    for await (const event of watcher) {
      if (event.kind !== "modify" && event.kind !== "create") continue;
      for (const path of event.paths) {
        if (/\.(ts|js|mts|mjs)$/.test(path) && !path.endsWith(".d.ts")) await redeploy(path);
      }
    }
  })();
  await _untilSignal();
  watcher.close();
  await server.shutdown();
  return 0;
}

async function _health(port: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, {
      signal: AbortSignal.timeout(2000),
    });
    await res.body?.cancel();
    return res.ok ? 0 : 1;
  } catch {
    return 1;
  }
}

function _untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => resolve();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
  });
}
