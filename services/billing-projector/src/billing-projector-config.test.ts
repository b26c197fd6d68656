import { fileURLToPath } from "node:url";
import { ConfigError, loadConfigFile, parseConfig } from "@tollgate/config";
import { describe, expect, it } from "vitest";
import { BillingProjectorConfig } from "./billing-projector-config.js";

describe("billing projector config", () => {
  it("the example file is valid and states the defaults", async () => {
    const example = fileURLToPath(new URL("../billing-projector.example.yaml", import.meta.url));
    const config = await loadConfigFile(example, BillingProjectorConfig, { env: {}, envPrefix: "TOLLGATE_BILLING_PROJECTOR__" });
    expect(config).toEqual(BillingProjectorConfig.parse({}));
    expect(config.stripe.secretKey).toBeNull();
  });

  it("refuses a bad file with every problem and its path", () => {
    let error: unknown;
    try {
      parseConfig(BillingProjectorConfig, { stripe: { protocol: "ftp", timeoutMs: 5 }, reporter: { backoffInitialMs: 10, backoffMaxMs: 1 }, typo: true }, "billing.yaml");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const path of ["stripe.protocol", "stripe.timeoutMs", "typo"]) expect(message).toContain(path);
  });
});
