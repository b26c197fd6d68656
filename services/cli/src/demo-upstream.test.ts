import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDemoUpstream } from "./demo-upstream.js";

describe("demo upstream", () => {
  const server = createDemoUpstream();
  let base = "";
  beforeAll(async () => {
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
  });

  it("echoes the method, url, body size and forwarding headers", async () => {
    const response = await fetch(`${base}/demo/hello?x=1`, {
      method: "POST",
      body: "12345",
      headers: { "x-request-id": "abc" },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      method: "POST",
      url: "/demo/hello?x=1",
      bodyBytes: 5,
      headers: { "x-request-id": "abc", "x-forwarded-for": null },
    });
  });
});
