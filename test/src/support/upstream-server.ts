import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface UpstreamServer {
  url: string;
  server: Server;
  requests: number;
  close(): Promise<void>;
}

/** A real HTTP upstream on a free loopback port. */
export async function startUpstream(
  handler: (request: IncomingMessage, response: ServerResponse) => void = (_request, response) => {
    response.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
    response.end("ok");
  },
): Promise<UpstreamServer> {
  const upstream: UpstreamServer = {
    url: "",
    requests: 0,
    server: createServer((request, response) => {
      upstream.requests += 1;
      handler(request, response);
    }),
    async close() {
      upstream.server.closeAllConnections();
      upstream.server.close();
      await once(upstream.server, "close");
    },
  };
  upstream.server.keepAliveTimeout = 60_000;
  upstream.server.listen(0, "127.0.0.1");
  await once(upstream.server, "listening");
  upstream.url = `http://127.0.0.1:${(upstream.server.address() as AddressInfo).port}`;
  return upstream;
}
