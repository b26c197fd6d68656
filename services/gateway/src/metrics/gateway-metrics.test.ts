import { createMetricsRegistry } from "@tollgate/observability";
import { Histogram } from "prom-client";
import { describe, expect, it } from "vitest";
import { GatewayMetrics } from "./gateway-metrics.js";

describe("GatewayMetrics", () => {
  it("exposes the same text as prom-client's own histogram for the same observations", async () => {
    const ours = createMetricsRegistry({ defaultMetrics: false });
    const reference = createMetricsRegistry({ defaultMetrics: false });
    const metrics = new GatewayMetrics(ours, () => 0);
    const histogram = new Histogram({
      name: "tollgate_request_duration_seconds",
      help: "Time from receiving the request head to the last byte sent, by route and status",
      labelNames: ["route", "status"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [reference],
    });
    const observations: [string, number, number][] = [
      ["demo", 200, 0.0004],
      ["demo", 200, 0.001],
      ["demo", 200, 0.0031],
      ["demo", 502, 42],
      ["a\"b", 200, 0.2],
    ];
    for (const [route, status, seconds] of observations) {
      metrics.forRoute(route).observe(status, seconds);
      histogram.observe({ route, status: String(status) }, seconds);
    }

    const text = await ours.getSingleMetricAsString("tollgate_request_duration_seconds");
    const expected = await reference.getSingleMetricAsString("tollgate_request_duration_seconds");
    expect(normalize(text)).toEqual(normalize(expected));
    expect(await ours.getSingleMetricAsString("tollgate_requests_total")).toContain('tollgate_requests_total{route="demo",status="200"} 3');
  });

  it("resets with the registry", async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const metrics = new GatewayMetrics(registry, () => 2);
    metrics.forRoute(null).observe(404, 0.001);
    registry.resetMetrics();
    const text = await registry.metrics();
    expect(text).toContain('tollgate_requests_total{route="(none)",status="404"} 0');
    expect(text).toContain("tollgate_requests_in_flight 2");
  });
});

/** Label order within braces is not significant to Prometheus. */
function normalize(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.replace(/\{([^}]*)\}/, (_all, inner: string) => `{${inner.split(/,(?=\w+=)/).sort().join(",")}}`))
    .sort();
}
