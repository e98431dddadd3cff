/**
 * Test helper: a TCP proxy in front of Postgres that a test can cut and restore, to simulate the
 * database going away for one server without stopping the shared Postgres.
 *
 * @module
 */

/** A proxy that can be taken down (closing every connection) and brought back on its port. */
export interface CuttableProxy {
  port: number;
  /** Stops listening and resets every open connection. */
  cut(): void;
  /** Listens again on the same port. */
  restore(): void;
  close(): void;
}

/**
 * Starts a proxy to `target` on a free local port.
 *
 * @param target where connections are forwarded
 */
export function startProxy(target: { hostname: string; port: number }): CuttableProxy {
  let listener: Deno.Listener | null = null;
  let port = 0;
  const open = new Set<Deno.Conn>();

  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    try {
      await from.readable.pipeTo(to.writable);
    } catch {
      // either side went away
    }
    for (const c of [from, to]) {
      try {
        c.close();
      } catch {
        // already closed
      }
      open.delete(c);
    }
  };

  const listen = () => {
    listener = Deno.listen({ hostname: "127.0.0.1", port });
    port = (listener.addr as Deno.NetAddr).port;
    const current = listener;
    void (async () => {
      try {
        for await (const client of current) {
          let upstream: Deno.Conn;
          try {
            upstream = await Deno.connect(target);
          } catch {
            client.close();
            continue;
          }
          open.add(client);
          open.add(upstream);
          void pipe(client, upstream);
          void pipe(upstream, client);
        }
      } catch {
        // listener closed
      }
    })();
  };

  const cut = () => {
    listener?.close();
    listener = null;
    for (const c of open) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    open.clear();
  };

  listen();
  return {
    get port() {
      return port;
    },
    cut,
    restore: listen,
    close: cut,
  };
}
