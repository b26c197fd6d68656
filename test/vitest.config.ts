import { defineConfig } from "vitest/config";

// These suites start real processes (gateways, upstreams, stores). On two cores they
// are more honest one file at a time, and they are bounded by their own deadlines.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
