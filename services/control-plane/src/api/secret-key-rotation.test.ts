import { SecretBox } from "@tollgate/credentials";
import type { HmacSecretIssued, HmacSecretReencrypted } from "@tollgate/events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, testSecretKeys, type Harness } from "../test-support/control-plane-harness.js";

const k1 = testSecretKeys.keys.k1;
const k3 = Buffer.alloc(32, 3).toString("base64");

/** What the gateway will do: open the latest sealed secret of a credential from the log with the configured keys. */
async function openFromLog(h: Harness, credentialId: string, keys: Record<string, string>): Promise<string> {
  const events = await h.store.readStream(`credential-${credentialId}`);
  const sealed = events
    .filter((event) => event.type === "HmacSecretIssued" || event.type === "HmacSecretReencrypted")
    .map((event) => (event.data as (HmacSecretIssued | HmacSecretReencrypted)["data"]).secret)
    .at(-1)!;
  const ring = new Map(Object.entries(keys).map(([id, key]) => [id, Buffer.from(key, "base64")]));
  return new SecretBox({ current: Object.keys(keys)[0]!, keys: ring }, () => Buffer.alloc(12)).open(sealed, credentialId).toString();
}

describe("rotating the HMAC encryption key (the documented procedure)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ secretKeys: { current: "k1", keys: { k1 } } });
  });
  afterAll(() => h.close());

  it("re-seals every secret under the new key, after which the old key can be removed", async () => {
    await h.admin("POST", "/admin/consumers", { id: "acme", name: "Acme" });
    const a = (await h.admin<{ secret: string }>("POST", "/admin/consumers/acme/hmac-secrets", { id: "hmac-a" })).body.secret;
    const b = (await h.admin<{ secret: string }>("POST", "/admin/consumers/acme/hmac-secrets", { id: "hmac-b" })).body.secret;
    await h.admin("POST", "/admin/credentials/hmac-b/revoke", {});
    expect((await h.admin("GET", "/admin/secret-keys")).body).toEqual({ currentKeyId: "k1", configuredKeyIds: ["k1"], secretsByKeyId: { k1: 1 } });

    // Step 1: add the new key and make it current; keep the old one for decryption.
    await h.restart({ secretKeys: { current: "k3", keys: { k1, k3 } } });
    const c = (await h.admin<{ secret: string }>("POST", "/admin/consumers/acme/hmac-secrets", { id: "hmac-c" })).body.secret;
    expect((await h.admin("GET", "/admin/secret-keys")).body).toMatchObject({ currentKeyId: "k3", secretsByKeyId: { k1: 1, k3: 1 } });

    // Step 2: re-seal what the old key still seals.
    const report = await h.admin("POST", "/admin/secret-keys/reencrypt");
    expect(report.body).toEqual({ reencrypted: ["hmac-a"], failed: [] });
    expect((await h.admin("GET", "/admin/secret-keys")).body).toMatchObject({ secretsByKeyId: { k3: 2 } });
    expect((await h.admin("POST", "/admin/secret-keys/reencrypt")).body).toEqual({ reencrypted: [], failed: [] });

    // Step 3: remove the old key. Every live secret still opens, and is the one shown at issue.
    await h.restart({ secretKeys: { current: "k3", keys: { k3 } } });
    expect(await openFromLog(h, "hmac-a", { k3 })).toBe(a);
    expect(await openFromLog(h, "hmac-c", { k3 })).toBe(c);
    expect(b).toMatch(/^tgs_/);
    const audit = await h.admin<{ entries: { type: string; change: Record<string, unknown> }[] }>("GET", "/admin/audit?entity=credential-hmac-a");
    expect(audit.body.entries.map((entry) => entry.type)).toEqual(["HmacSecretIssued", "HmacSecretReencrypted"]);
    expect(audit.body.entries[1]!.change).toMatchObject({ previousKeyId: "k1", secret: "[redacted]" });
  });
});
