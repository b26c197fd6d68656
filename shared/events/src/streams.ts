/**
 * The one place that names streams. Every stream is `<category>-<id>`, so that a
 * subscription can filter by category prefix on either event store.
 */
export const streamCategories = {
  requests: "requests",
} as const;

export type StreamCategory = (typeof streamCategories)[keyof typeof streamCategories];

export const streams = {
  /** Request events of one gateway instance. Appended with no expected revision. */
  requests: (gatewayId: string): string => `${streamCategories.requests}-${gatewayId}`,
};

export function streamPrefix(category: StreamCategory): string {
  return `${category}-`;
}

export function categoryOf(streamId: string): string {
  const dash = streamId.indexOf("-");
  return dash === -1 ? streamId : streamId.slice(0, dash);
}
