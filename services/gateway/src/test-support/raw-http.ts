import { connect } from "node:net";

export interface RawExchange {
  /** Everything the server sent, decoded as latin1. */
  text: string;
  /** Status codes of every response found in `text`, in order. */
  statuses: number[];
}

/**
 * Writes bytes exactly as given on a fresh connection and collects everything the
 * server sends until it closes the connection. This is how the security tests speak
 * HTTP that no well-behaved client library would send. The connection is not
 * half-closed (Node aborts requests in flight when a client does), so a payload
 * whose last request should be answered ends it with `Connection: close`.
 */
export function rawExchange(port: number, payload: string | Buffer, timeoutMs = 5_000): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`server kept the connection open for ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("connect", () => {
      socket.write(typeof payload === "string" ? Buffer.from(payload, "latin1") : payload);
    });
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("latin1");
      resolve({ text, statuses: responseStatuses(text) });
    });
  });
}

/** The JSON body of the first response in a raw exchange. */
export function firstBody(exchange: RawExchange): unknown {
  const start = exchange.text.indexOf("\r\n\r\n");
  const lengthMatch = /\r\ncontent-length: (\d+)/i.exec(exchange.text.slice(0, start));
  const body = exchange.text.slice(start + 4, lengthMatch ? start + 4 + Number(lengthMatch[1]) : undefined);
  return JSON.parse(body) as unknown;
}

/**
 * Walks the responses in `text` by their framing (Content-Length or chunked) and
 * returns their status codes. Stops at the first thing that is not a whole response.
 */
export function responseStatuses(text: string): number[] {
  const statuses: number[] = [];
  let at = 0;
  while (at < text.length) {
    const statusLine = /^HTTP\/1\.[01] (\d{3}) /.exec(text.slice(at, at + 20));
    const headEnd = text.indexOf("\r\n\r\n", at);
    if (statusLine === null || headEnd === -1) break;
    const status = Number(statusLine[1]);
    statuses.push(status);
    const head = text.slice(at, headEnd);
    let bodyStart = headEnd + 4;
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
      at = bodyStart;
    } else if (length !== null) {
      at = bodyStart + Number(length[1]);
    } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      for (;;) {
        const sizeEnd = text.indexOf("\r\n", bodyStart);
        if (sizeEnd === -1) return statuses;
        const size = parseInt(text.slice(bodyStart, sizeEnd), 16);
        if (Number.isNaN(size)) return statuses;
        bodyStart = sizeEnd + 2 + size + 2;
        if (size === 0) break;
      }
      at = bodyStart;
    } else {
      break;
    }
  }
  return statuses;
}
