/**
 * Test and benchmark helper: a TCP port on 127.0.0.1 that nothing listens on.
 *
 * @module
 */

/**
 * Finds a free port by binding port 0 and closing the listener again.
 *
 * @returns the port the kernel handed out
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
