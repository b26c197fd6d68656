import { START } from "@tollgate/eventstore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixedClock } from "../../runtime/clock.js";
import { sequentialIds } from "../../runtime/id-generator.js";
import { readToken, startHarness, type Harness } from "../../test-support/control-plane-harness.js";

type Json = Record<string, unknown>;
type Problem = { code: string; detail: string; issues: { path: string; message: string }[] };

describe("POST /admin/cache/purge", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({}, { ids: sequentialIds(), clock: fixedClock("2026-11-26T10:00:00Z") });
  });
  afterAll(() => h.close());

  it("records a purge by route, by key prefix, or both, answers 202 with its id and log position, and the audit trail shows who asked", async () => {
    const byRoute = await h.admin("POST", "/admin/cache/purge", { routeId: "products" });
    expect(byRoute.status).toBe(202);
    expect(byRoute.body).toMatchObject({ purgeId: "purge_1", routeId: "products", keyPrefix: null, requestedAt: "2026-11-26T10:00:00.000Z" });
    expect(byRoute.body.position).toMatch(/^\d+$/);

    const [recorded] = await h.store.readStream("cache-purge_1");
    expect(recorded).toMatchObject({
      type: "CachePurgeRequested",
      version: 1,
      data: { purgeId: "purge_1", routeId: "products", requestedAt: "2026-11-26T10:00:00.000Z", actor: { kind: "admin", id: "ops" } },
      metadata: { requestId: byRoute.headers.get("x-request-id") },
    });
    expect(recorded!.position.toString()).toBe(byRoute.body.position);

    const byPrefix = await h.admin("POST", "/admin/cache/purge", { keyPrefix: "api.example.com/products/" });
    expect(byPrefix.body).toMatchObject({ purgeId: "purge_2", routeId: null, keyPrefix: "api.example.com/products/" });
    expect(BigInt(byPrefix.body.position as string)).toBeGreaterThan(BigInt(byRoute.body.position as string));
    const both = await h.admin("POST", "/admin/cache/purge", { routeId: "products", keyPrefix: "api.example.com/products/1" });
    expect(both.body).toMatchObject({ purgeId: "purge_3", routeId: "products", keyPrefix: "api.example.com/products/1" });

    const audit = await h.admin<{ entries: Json[] }>("GET", "/admin/audit?entity=cache");
    expect(audit.body.entries.map((entry) => [entry.type, (entry.entity as Json).id, entry.actor])).toEqual([
      ["CachePurgeRequested", "purge_1", { kind: "admin", id: "ops" }],
      ["CachePurgeRequested", "purge_2", { kind: "admin", id: "ops" }],
      ["CachePurgeRequested", "purge_3", { kind: "admin", id: "ops" }],
    ]);
  });

  it("refuses a body that names no filter, or names a field wrongly, with problem+json naming the field, and records nothing", async () => {
    const before = (await h.store.readAll({ from: START, limit: 1_000, filter: { streamPrefixes: ["cache-"] } })).length;

    const empty = await h.admin<Problem>("POST", "/admin/cache/purge", {});
    expect(empty.status).toBe(400);
    expect(empty.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(empty.body).toMatchObject({ code: "invalid-request", issues: [{ path: "body", message: "name a routeId, a keyPrefix or both" }] });

    const badRoute = await h.admin<Problem>("POST", "/admin/cache/purge", { routeId: "not a route!" });
    expect(badRoute.body.issues.map((issue) => issue.path)).toEqual(["body.routeId"]);
    const emptyPrefix = await h.admin<Problem>("POST", "/admin/cache/purge", { keyPrefix: "" });
    expect(emptyPrefix.body.issues.map((issue) => issue.path)).toEqual(["body.keyPrefix"]);
    const typo = await h.admin<Problem>("POST", "/admin/cache/purge", { route: "products" });
    expect(typo.status).toBe(400);
    expect(typo.body.detail).toContain("route");

    expect((await h.store.readAll({ from: START, limit: 1_000, filter: { streamPrefixes: ["cache-"] } })).length).toBe(before);
  });

  it("takes a write token only", async () => {
    expect((await h.call("POST", "/admin/cache/purge", { token: null, body: { routeId: "products" } })).status).toBe(401);
    const readOnly = await h.call<Problem>("POST", "/admin/cache/purge", { token: readToken, body: { routeId: "products" } });
    expect(readOnly.status).toBe(403);
    expect(readOnly.body.code).toBe("forbidden");
  });

  it("is in the OpenAPI document with its body and its 202", async () => {
    const document = (await (await fetch(`${h.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, Json>> };
    const purge = document.paths["/admin/cache/purge"]?.post as { operationId: string; responses: Json; requestBody: { content: { "application/json": { schema: { properties: Json } } } } };
    expect(purge.operationId).toBe("purgeCache");
    expect(Object.keys(purge.responses)).toContain("202");
    expect(Object.keys(purge.requestBody.content["application/json"].schema.properties).sort()).toEqual(["keyPrefix", "routeId"]);
  });
});
