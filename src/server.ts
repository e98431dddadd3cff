/**
 * Starting and stopping a whole server: store, contract loader, sandbox supervisor, HTTP.
 *
 * @module
 */
import type { Config } from "./config.ts";
import { ContractLoader } from "./contracts/loader.ts";
import { createHandler } from "./http/handler.ts";
import { Metrics } from "./http/metrics.ts";
import { logger } from "./log.ts";
import { buildWorkerModules } from "./sandbox/modules.ts";
import { Supervisor } from "./sandbox/supervisor.ts";
import { deployExamples } from "./contracts/deploy.ts";
import { checkSchema, openStore } from "./store/open.ts";
import { type SeedableStore, seedChain } from "./store/seed.ts";
import type { Store } from "./store/types.ts";

const log = logger("server");

/** A running server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8180`. */
  url: string;
  /** The port actually bound. */
  port: number;
  /** The open store. */
  store: Store;
  /** The contract loader. */
  loader: ContractLoader;
  /** The sandbox supervisor. */
  supervisor: Supervisor;
  /** The server's metrics. */
  metrics: Metrics;
  /** Stops accepting requests, finishes those in flight, stops sandboxes, closes the store. */
  shutdown(): Promise<void>;
}

/**
 * Starts a server.
 *
 * The embedded SQLite store is migrated and, when it has no contracts, seeded with the example
 * contracts and a small chain, so `deno task start` works with no configuration. Postgres is
 * never changed here: its schema must be current (`deno task migrate`).
 *
 * @param config the configuration
 * @returns the running server
 */
export async function startServer(config: Config): Promise<RunningServer> {
  const store = await openStore(config);
  try {
    if (store.kind === "sqlite") {
      await store.migrate();
      if ((await store.listContracts()).length === 0) {
        await deployExamples(store);
        await seedChain(store as SeedableStore);
      }
    }
    await checkSchema(store);
  } catch (error) {
    await store.close();
    throw error;
  }
  const metrics = new Metrics();
  const supervisor = new Supervisor(config, buildWorkerModules(), metrics);
  const loader = new ContractLoader(store, config, metrics);
  try {
    await supervisor.start();
    await loader.start();
  } catch (error) {
    await supervisor.stop();
    await store.close();
    throw error;
  }
  const handler = createHandler({ config, store, loader, supervisor, metrics });
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    port: config.port,
    hostname: config.hostname,
    onListen: resolve,
  }, handler);
  const addr = await listening;
  const host = addr.hostname === "0.0.0.0" ? "127.0.0.1" : addr.hostname;
  const url = `http://${host}:${addr.port}`;
  const contracts = (await store.listContracts()).map((c) =>
    c.isActive ? c.id : `${c.id} (inactive)`
  );
  log.info("tana-edge listening on {url} with the {store} store at {location}", {
    url: `http://${addr.hostname}:${addr.port}`,
    store: store.kind,
    location: store.location,
    sandboxes: config.sandboxProcesses,
    contracts,
  });
  log.info("Contracts: {contracts}", { contracts: contracts.join(", ") || "(none)" });

  let stopping: Promise<void> | null = null;
  return {
    url,
    port: addr.port,
    store,
    loader,
    supervisor,
    metrics,
    shutdown() {
      stopping ??= (async () => {
        await server.shutdown();
        await loader.stop();
        await supervisor.stop();
        await store.close();
      })();
      return stopping;
    },
  };
}
