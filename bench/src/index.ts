// The harness, for benchmarks beyond the gateway bench (auth vs bare gateway, rate limits with memory or Redis).
export type { Arm, ArmStopReport, BenchUpstream, RunningArm } from "./arm.js";
export type { ArmRound } from "./arm-round.js";
export type { LoadShape } from "./load-shape.js";
export type { ShapeMeasurement } from "./shape-measurement.js";
export { runBench, type RunBenchOptions } from "./run-bench.js";
export { formatSummary, summarizeBench, type BenchSummary, type Comparison, type Threshold } from "./bench-report.js";
export { createDirectArm } from "./direct-arm.js";
export { createUndiciPassthroughArm } from "./undici-passthrough-arm.js";
export { createNginxProxyArm } from "./nginx-proxy-arm.js";
export { createGatewayArm, benchGatewayConfig, type GatewayArmOptions } from "./gateway-arm.js";
export { startNginx, type NginxServer } from "./nginx-server.js";
export { processRegistry } from "./process-registry.js";
export { parseBenchOptions, benchUsage, type BenchOptions } from "./bench-options.js";
