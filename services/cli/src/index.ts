export { createDemoUpstream } from "./demo-upstream.js";
export { ManagedProcess, type ManagedProcessOptions } from "./managed-process.js";
export { formatEvent, tailEvents, type EventsTailOptions } from "./commands/events-command.js";
export { startPlatform, type StartPlatformOptions } from "./commands/start-platform.js";
