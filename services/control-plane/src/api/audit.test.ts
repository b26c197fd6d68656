import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../test-support/control-plane-harness.js";

type Json = Record<string, unknown>;

/** Polls the wall clock until it is past `instant`, and returns that later instant: a write made after this is recorded after `instant`. */
async function after(instant: string): Promise<string> {
  while (Date.now() <= Date.parse(instant) + 1) await new Promise((resolve) => setTimeout(resolve, 2));
  return new Date().toISOString();
}

describe("audit", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it("reconstructs a plan as it was before an edit, and lists who changed what", async () => {
    const created = await h.admin("POST", "/admin/plans", { id: "gold", name: "Gold", quota: { limit: 1_000, period: "month", enforcement: "hard" } });
    const beforeEdit = await after(created.body.updatedAt as string);
    await after(beforeEdit);
    await h.call("PATCH", "/admin/plans/gold", { body: { name: "Gold+", quota: { limit: 5_000, period: "month", enforcement: "overage" } } });

    const then = await h.admin("GET", `/admin/plans/gold?asOf=${encodeURIComponent(beforeEdit)}`);
    expect(then.status).toBe(200);
    expect(then.body).toMatchObject({ name: "Gold", quota: { limit: 1_000, enforcement: "hard" }, version: 0 });
    expect(then.headers.get("etag")).toBe('"0"');
    expect((await h.admin("GET", "/admin/plans/gold")).body).toMatchObject({ name: "Gold+", version: 1 });
    expect((await h.admin("GET", "/admin/plans/gold?asOf=2000-01-01T00:00:00Z")).status).toBe(404);

    const audit = await h.admin<{ entries: Json[]; next: string | null }>("GET", "/admin/audit?entity=plan-gold");
    expect(audit.body.entries).toEqual([
      expect.objectContaining({ type: "PlanCreated", version: 0, entity: { kind: "plan", id: "gold" }, actor: { kind: "admin", id: "ops" } }),
      expect.objectContaining({
        type: "PlanUpdated",
        version: 1,
        actor: { kind: "admin", id: "ops" },
        change: { planId: "gold", changes: { name: "Gold+", quota: { limit: 5_000, period: "month", enforcement: "overage" } } },
      }),
    ]);
    const since = await h.admin<{ entries: Json[] }>("GET", `/admin/audit?entity=plan&since=${encodeURIComponent(beforeEdit)}`);
    expect(since.body.entries.map((entry) => entry.type)).toEqual(["PlanUpdated"]);
  });

  it("pages through the whole trail and filters by actor", async () => {
    await h.admin("POST", "/admin/consumers", { id: "acme", name: "Acme" });
    const first = await h.admin<{ entries: Json[]; next: string | null }>("GET", "/admin/audit?limit=2");
    expect(first.body.entries).toHaveLength(2);
    expect(first.body.next).not.toBeNull();
    const rest = await h.admin<{ entries: Json[]; next: string | null }>(`GET`, `/admin/audit?after=${first.body.next!}`);
    expect(rest.body.entries.map((entry) => entry.type)).toEqual(["ConsumerRegistered"]);
    expect((await h.admin<{ entries: Json[] }>("GET", "/admin/audit?actor=nobody")).body.entries).toEqual([]);
    expect((await h.admin("GET", "/admin/audit?entity=widgets")).status).toBe(400);
  });
});
