export * from "./request-events.js";
export * from "./control-events.js";
export * from "./streams.js";
export * from "./parse-event.js";
