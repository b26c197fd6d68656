import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../test-support/control-plane-harness.js";

describe("admin API (error)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ secretKeys: null });
  });
  afterAll(() => h.close());

  it("lists every invalid field with its path", async () => {
    const response = await h.admin<{ code: string; issues: { path: string; message: string }[] }>("POST", "/admin/plans", {
      id: "bad id!",
      rateLimits: [{ name: "x", points: 0, windowSeconds: 1, algorithm: "leaky" }],
      surprise: true,
    });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe("invalid-request");
    expect(response.body.issues.map((issue) => issue.path)).toEqual(
      expect.arrayContaining(["body.id", "body.name", "body.rateLimits[0].points", "body.rateLimits[0].algorithm", "body"]),
    );
  });

  it("answers malformed JSON, a wrong content type and an unknown path with problems", async () => {
    expect((await h.admin("POST", "/admin/plans", "{not json")).body).toMatchObject({ status: 400, code: "invalid-request" });
    const text = await h.call("POST", "/admin/plans", { body: "name=x", headers: { "content-type": "text/plain" } });
    expect(text.body).toMatchObject({ status: 415, code: "unsupported-media-type" });
    expect((await h.admin("GET", "/admin/nothing")).body).toMatchObject({ status: 404, code: "not-found" });
    expect((await h.admin("PATCH", "/admin/plans/gold", { name: "x" }, { "if-match": "yesterday" })).body).toMatchObject({ status: 400 });
  });

  it("answers 404 for missing entities and 422 for references to missing ones", async () => {
    expect((await h.admin("GET", "/admin/plans/nope")).status).toBe(404);
    expect((await h.admin("PATCH", "/admin/plans/nope", { name: "x" })).status).toBe(404);
    expect((await h.admin("POST", "/admin/consumers/nope/api-keys", {})).body).toMatchObject({ status: 422, code: "invalid-reference" });
    await h.admin("POST", "/admin/consumers", { id: "acme", name: "Acme" });
    expect((await h.admin("POST", "/admin/subscriptions", { consumerId: "acme", planId: "nope" })).status).toBe(422);
  });

  it("answers 409 for duplicates and for changes the state does not allow", async () => {
    await h.admin("POST", "/admin/plans", { id: "p", name: "P" });
    expect((await h.admin("POST", "/admin/plans", { id: "p", name: "P" })).body).toMatchObject({ status: 409, code: "already-exists" });
    await h.admin("POST", "/admin/plans/p/archive");
    expect((await h.admin("PATCH", "/admin/plans/p", { name: "Q" })).body).toMatchObject({ status: 409, code: "invalid-state" });
    expect((await h.admin("POST", "/admin/subscriptions", { consumerId: "acme", planId: "p" })).body).toMatchObject({ status: 422 });
  });

  it("refuses expiries in the past", async () => {
    const response = await h.admin("POST", "/admin/consumers/acme/api-keys", { expiresAt: "2000-01-01T00:00:00Z" });
    expect(response.body).toMatchObject({ status: 400, code: "invalid-request" });
  });

  it("says so when HMAC secrets are asked for without an encryption key", async () => {
    expect((await h.admin("POST", "/admin/consumers/acme/hmac-secrets", {})).body).toMatchObject({ status: 503, code: "secret-keys-missing" });
  });
});
