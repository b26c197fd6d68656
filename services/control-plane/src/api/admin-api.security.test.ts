import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readToken, startHarness, writeToken, type Harness } from "../test-support/control-plane-harness.js";

describe("admin API (security)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it("refuses a request without a token with 401, WWW-Authenticate and a problem document", async () => {
    const response = await h.call("GET", "/admin/plans", { token: null });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="tollgate-admin"');
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ type: "urn:tollgate:problem:unauthorized", status: 401, code: "unauthorized" });
  });

  it("refuses a wrong token, including one that differs from a real one in its last character or its length", async () => {
    for (const token of [`${writeToken.slice(0, -1)}X`, `${writeToken}X`, writeToken.slice(0, 10), "Bearer"]) {
      const response = await h.call("GET", "/admin/plans", { token });
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toContain('error="invalid_token"');
    }
  });

  it("lets a read token read, and refuses it any write with 403", async () => {
    expect((await h.call("GET", "/admin/plans", { token: readToken })).status).toBe(200);
    const write = await h.call("POST", "/admin/plans", { token: readToken, body: { name: "X" } });
    expect(write.status).toBe(403);
    expect(write.body).toMatchObject({ code: "forbidden" });
  });

  it("does not accept an admin token as a consumer key, nor a consumer key as an admin token", async () => {
    await h.admin("POST", "/admin/consumers", { id: "c1", name: "C1" });
    const issued = await h.admin<{ secret: string }>("POST", "/admin/consumers/c1/api-keys", {});
    expect((await h.call("GET", "/consumer/me", { token: writeToken })).status).toBe(401);
    expect((await h.call("GET", "/admin/plans", { token: issued.body.secret })).status).toBe(401);
  });

  it("keeps every secret out of the log file, the audit trail and later reads", async () => {
    const key = await h.admin<{ secret: string }>("POST", "/admin/consumers/c1/api-keys", {});
    const password = "correct horse battery staple";
    await h.admin("POST", "/admin/consumers/c1/basic-users", { username: "c1-user", password });
    const hmac = await h.admin<{ secret: string }>("POST", "/admin/consumers/c1/hmac-secrets", {});
    const audit = await h.admin("GET", "/admin/audit?entity=credential&limit=1000");
    const everything = [
      readFileSync(h.file).toString("latin1"),
      readFileSync(`${h.file}-wal`, { flag: "a+" }).toString("latin1"),
      JSON.stringify(audit.body),
      JSON.stringify((await h.admin("GET", "/admin/credentials")).body),
    ].join("\n");
    for (const secret of [key.body.secret, password, hmac.body.secret, hmac.body.secret.slice(4), writeToken, readToken]) {
      expect(everything).not.toContain(secret);
    }
    expect(JSON.stringify(audit.body)).toContain("[redacted]");
  });

  it("never lets a response be cached", async () => {
    const response = await h.admin("POST", "/admin/consumers/c1/api-keys", {});
    expect(response.headers.get("cache-control")).toBe("no-store");
  });
});
