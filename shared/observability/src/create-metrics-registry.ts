import { collectDefaultMetrics, Registry } from "prom-client";

export interface CreateMetricsRegistryOptions {
  /** Collect the process and Node.js runtime metrics (CPU, memory, event-loop lag, GC). Default true. */
  defaultMetrics?: boolean;
  /** Labels added to every series, for example `{ service: "gateway" }`. */
  labels?: Record<string, string>;
}

/**
 * A registry of its own per service (never prom-client's global one), so that tests
 * and several servers in one process do not share or double-register metrics.
 */
export function createMetricsRegistry(options: CreateMetricsRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.labels) registry.setDefaultLabels(options.labels);
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

export { Registry };
