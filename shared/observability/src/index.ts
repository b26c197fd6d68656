export * from "./create-logger.js";
export * from "./create-metrics-registry.js";
