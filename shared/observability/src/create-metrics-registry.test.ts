import { Counter } from "prom-client";
import { describe, expect, it } from "vitest";
import { createMetricsRegistry } from "./create-metrics-registry.js";

describe("createMetricsRegistry", () => {
  it("collects default process metrics into its own registry", async () => {
    const registry = createMetricsRegistry({ labels: { service: "test" } });
    const text = await registry.metrics();
    expect(text).toContain("process_cpu_user_seconds_total");
    expect(text).toContain('service="test"');
  });

  it("keeps registries apart so the same metric can exist in two", async () => {
    const first = createMetricsRegistry({ defaultMetrics: false });
    const second = createMetricsRegistry({ defaultMetrics: false });
    for (const registry of [first, second]) {
      new Counter({ name: "tollgate_test_total", help: "test", registers: [registry] }).inc();
    }
    expect(await first.metrics()).toContain("tollgate_test_total 1");
    expect(await second.metrics()).toContain("tollgate_test_total 1");
  });
});
