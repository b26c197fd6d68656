import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

export interface TestUpstream {
  readonly origin: string;
  readonly port: number;
  readonly server: Server;
  /** Every request the upstream received, body included. */
  readonly requests: ReceivedRequest[];
  /** TCP connections the upstream accepted. */
  connections: number;
  close(): Promise<void>;
}

/** Echoes what it received as JSON, so tests can see exactly what the gateway forwarded. */
export const echoHandler: UpstreamHandler = (req, res, body) => {
  const payload = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyLength: body.length });
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
  res.end(payload);
};

/** A real node:http upstream on an ephemeral port. The body is read before the handler runs. */
export async function startUpstream(handler: UpstreamHandler = echoHandler, options: { bufferBody?: boolean } = {}): Promise<TestUpstream> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const received: ReceivedRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.alloc(0) };
    requests.push(received);
    if (options.bufferBody === false) {
      handler(req, res, received.body);
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.body = Buffer.concat(chunks);
      handler(req, res, received.body);
    });
  });
  const upstream: TestUpstream = {
    origin: "",
    port: 0,
    server,
    requests,
    connections: 0,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  server.on("connection", () => {
    upstream.connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(upstream, { origin: `http://127.0.0.1:${port}`, port });
}
