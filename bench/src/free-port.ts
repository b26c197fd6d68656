import { createServer } from "node:net";

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for programs (nginx) that cannot
 * listen on port 0 and report the port. Another process could take it in between; the
 * caller's readiness check then fails loudly.
 */
export async function findFreePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("could not find a free port");
  return address.port;
}
