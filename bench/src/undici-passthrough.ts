import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http";
import { Pool } from "undici";

/**
 * Arm B, the Node ceiling: the least a node:http server can do to forward a request
 * through an undici Pool (what the gateway's data plane is built on). No routing, no
 * policies, no events. Hop-by-hop headers are dropped in both directions, as any
 * correct proxy must. Run as its own process:
 *   node undici-passthrough.js <upstream origin> [port]
 * It prints {"msg":"listening","port":N} once it accepts connections.
 */

const hopByHop = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "host"]);

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !hopByHop.has(name)) result[name] = value;
  }
  return result;
}

const upstream = process.argv[2];
const port = Number(process.argv[3] ?? "0");
if (upstream === undefined) {
  process.stderr.write("usage: node undici-passthrough.js <upstream origin> [port]\n");
  process.exit(2);
}

const pool = new Pool(upstream, { connections: 128, pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 });

const server = createServer((req, res) => {
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  pool.stream(
    { path: req.url ?? "/", method: req.method as "GET", headers: forwardable(req.headers), body: hasBody ? req : null },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, forwardable(headers) as OutgoingHttpHeaders);
      return res;
    },
    (error) => {
      if (!error) return;
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end("bad gateway\n");
      } else {
        res.destroy(error);
      }
    },
  );
});
server.keepAliveTimeout = 65_000;

server.listen(port, "127.0.0.1", () => {
  const address = server.address();
  const listening = typeof address === "object" && address !== null ? address.port : port;
  process.stdout.write(`${JSON.stringify({ msg: "listening", port: listening })}\n`);
});

const shutdown = (): void => {
  server.close();
  server.closeAllConnections();
  void pool.close().finally(() => process.exit(0));
};
process.once("SIGTERM", shutdown);
process.once("SIGINT", shutdown);
