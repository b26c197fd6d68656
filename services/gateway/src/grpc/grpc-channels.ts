import { Client, credentials } from "@grpc/grpc-js";

/**
 * One grpc-js client (an HTTP/2 channel) per upstream target, shared by every gRPC
 * route to it and created on first use. A channel multiplexes every call to its target
 * over one connection and reconnects on its own; grpc-js keeps it, so the gateway never
 * opens a connection per request. Each channel starts connecting when the route is
 * compiled. http:// targets are plaintext (h2c), https:// ones TLS with the system's
 * roots.
 */
export class GrpcChannels {
  readonly #clients = new Map<string, Client>();

  clientFor(origin: string): Client {
    let client = this.#clients.get(origin);
    if (client === undefined) {
      const url = new URL(origin);
      const secure = url.protocol === "https:";
      const port = url.port === "" ? (secure ? "443" : "80") : url.port;
      client = new Client(`${url.hostname}:${port}`, secure ? credentials.createSsl() : credentials.createInsecure());
      // Connect now rather than on the first call, whose deadline would otherwise pay
      // for name resolution, TCP and the HTTP/2 handshake.
      client.getChannel().getConnectivityState(true);
      this.#clients.set(origin, client);
    }
    return client;
  }

  /** Closes every channel; calls still in flight end with CANCELLED or UNAVAILABLE. */
  close(): void {
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }
}
