import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestEvents, startAuthStack, subscribedConsumer, type AuthStack } from "./support/auth-e2e-stack.js";
import { waitFor } from "./support/wait-for.js";

const basic = (username: string, password: string): string => `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;

describe("HTTP Basic at the gateway, against the control plane's scrypt hashes (real processes)", () => {
  let stack: AuthStack;
  const password = `pw-${randomBytes(12).toString("hex")}`;
  const newPassword = `pw-${randomBytes(12).toString("hex")}`;
  const wrongPassword = `pw-${randomBytes(12).toString("hex")}`;
  let sent = 0;

  const call = async (authorization?: string) => {
    sent += 1;
    const response = await fetch(`${stack.gateway.url}/reports/q3`, { headers: authorization === undefined ? {} : { authorization } });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: response.headers.get("content-type") === "application/problem+json" ? (JSON.parse(text) as Record<string, unknown>) : text };
  };

  beforeAll(async () => {
    stack = await startAuthStack({
      gatewayConfig: (upstreamUrl) => ({
        upstreams: { api: { targets: [upstreamUrl] } },
        routes: [{ id: "reports", match: { pathPrefix: "/reports" }, upstream: "api", auth: [{ type: "basic", realm: "reports" }] }],
      }),
    });
    await subscribedConsumer(stack, "acme", ["reports"]);
    expect((await stack.admin("POST", "/admin/consumers/acme/basic-users", { id: "acme-ops", username: "ops@acme", password })).status).toBe(201);
  });

  afterAll(async () => {
    await stack?.cleanup();
  });

  it("admits the right password, tells the upstream who called and never forwards the credentials", async () => {
    await waitFor("the Basic user to reach the gateway", async () => (await call(basic("ops@acme", password))).status === 200, 5_000, 10);
    const before = stack.seen.length;
    expect((await call(basic("ops@acme", password))).status).toBe(200);
    expect(stack.seen[before]?.headers).toMatchObject({ "x-consumer-id": "acme", "x-plan-id": "acme-plan" });
    expect(stack.seen[before]?.headers.authorization).toBeUndefined();
  });

  it("refuses a wrong password, an unknown user and no credentials alike, with 401 and the Basic challenge", async () => {
    for (const authorization of [basic("ops@acme", wrongPassword), basic("nobody@acme", password), undefined]) {
      const refused = await call(authorization);
      expect(refused.status).toBe(401);
      expect(refused.headers.get("www-authenticate")).toBe('Basic realm="reports", charset="UTF-8"');
      expect(refused.headers.get("content-type")).toBe("application/problem+json");
    }
  });

  it("applies a password change on the next request, cached success or not", async () => {
    expect((await stack.admin("PUT", "/admin/credentials/acme-ops/password", { password: newPassword })).status).toBe(200);
    await waitFor("the old password to stop working", async () => (await call(basic("ops@acme", password))).status === 401, 5_000, 10);
    expect((await call(basic("ops@acme", newPassword))).status).toBe(200);
  });

  it("records the refusals with stage and reason, and leaves no password in the log or the output", async () => {
    const events = await requestEvents(stack.eventsFile, sent);
    expect(events).toHaveLength(sent);
    const reasons = events.filter((event) => event.type === "RequestRejected").map((event) => `${String(event.data.stage)}: ${String(event.data.reason)}`);
    expect(reasons).toEqual(expect.arrayContaining(["auth: unknown user or wrong password", "auth: no credentials in the request"]));
    const { exitCodes, found } = await stack.stopAndFindSecrets([password, newPassword, wrongPassword, basic("ops@acme", password).slice(6)]);
    expect(exitCodes).toEqual([0, 0]);
    expect(found.map((secret) => `${secret.slice(0, 5)}…`)).toEqual([]);
  });
});
