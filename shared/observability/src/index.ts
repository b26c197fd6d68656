export * from "./create-logger.js";
export * from "./create-metrics-registry.js";
export * from "./status-server.js";
export * from "./shutdown-signals.js";
