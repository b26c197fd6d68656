export * from "./request-events.js";
export * from "./control-events.js";
export * from "./streams.js";
export * from "./parse-event.js";
export * from "./quota-window.js";
export * from "./quota-counter-key.js";
export * from "./billing-events.js";
export * from "./billing-rules.js";
