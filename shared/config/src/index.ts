export * from "./config-error.js";
export * from "./parse-config.js";
export * from "./load-config-file.js";
export * from "./apply-env-overrides.js";
export * from "./format-issue-path.js";
export * from "./load-service-config.js";
