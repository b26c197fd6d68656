/**
 * The one place that names streams. Every stream is `<category>-<id>`, so that a
 * subscription can filter by category prefix on either event store.
 */
export const streamCategories = {
  requests: "requests",
  plan: "plan",
  consumer: "consumer",
  credential: "credential",
  subscription: "subscription",
  route: "route",
  upstream: "upstream",
  cache: "cache",
  gateway: "gateway",
} as const;

export type StreamCategory = (typeof streamCategories)[keyof typeof streamCategories];

export const streams = {
  /** Request events of one gateway instance. Appended with no expected revision. */
  requests: (gatewayId: string): string => `${streamCategories.requests}-${gatewayId}`,
  /** One plan's history. Appended with the expected revision of the state the change was decided on. */
  plan: (planId: string): string => `${streamCategories.plan}-${planId}`,
  consumer: (consumerId: string): string => `${streamCategories.consumer}-${consumerId}`,
  /** One credential (API key, JWT mapping, Basic user or HMAC secret); rotation stays in the same stream. */
  credential: (credentialId: string): string => `${streamCategories.credential}-${credentialId}`,
  subscription: (subscriptionId: string): string => `${streamCategories.subscription}-${subscriptionId}`,
  route: (routeId: string): string => `${streamCategories.route}-${routeId}`,
  /** Live target overrides of one upstream the gateways declare in their config. */
  upstream: (name: string): string => `${streamCategories.upstream}-${name}`,
  /** One request to purge the gateways' response caches; appended once, to a new stream. */
  cachePurge: (purgeId: string): string => `${streamCategories.cache}-${purgeId}`,
  /** A gateway instance's own events (circuit breaker state changes). Appended with no expected revision. */
  gateway: (gatewayId: string): string => `${streamCategories.gateway}-${gatewayId}`,
};

/** The categories the control plane writes; the gateway and the control plane's read model subscribe to these. */
export const controlStreamCategories = [
  streamCategories.plan,
  streamCategories.consumer,
  streamCategories.credential,
  streamCategories.subscription,
  streamCategories.route,
  streamCategories.upstream,
  streamCategories.cache,
] as const;

export type ControlStreamCategory = (typeof controlStreamCategories)[number];

export function streamPrefix(category: StreamCategory): string {
  return `${category}-`;
}

export function categoryOf(streamId: string): string {
  const dash = streamId.indexOf("-");
  return dash === -1 ? streamId : streamId.slice(0, dash);
}
