export * from "./event-store.js";
export * from "./event-store-config.js";
