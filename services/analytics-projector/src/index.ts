export * from "./analytics-projection.js";
export * from "./analytics-projector.js";
export * from "./analytics-projector-config.js";
export * from "./projector-metrics.js";
export * from "./analytics-projector-service.js";
