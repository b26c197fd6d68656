import type { RequestEvent } from "@tollgate/events";
import type { Logger } from "@tollgate/observability";
import type { AccessLogMode } from "./config/gateway-config.js";

/**
 * One line per request, built from the request's event so that the log and the
 * event log agree. It carries no header and no query string: what the event holds
 * is already free of secrets.
 */
export interface AccessLog {
  write(event: RequestEvent): void;
}

export function createAccessLog(logger: Logger, mode: AccessLogMode): AccessLog {
  if (mode === "off") return { write: () => undefined };
  const log = logger.child({ component: "access" });
  return {
    write(event) {
      const data = event.data;
      const failed = event.type === "RequestFailed";
      const serious = failed || data.status >= 500;
      if (mode === "errors" && !serious) return;
      const line = {
        requestId: data.requestId,
        outcome: event.type,
        method: data.method,
        path: data.path,
        route: data.routeId,
        status: data.status,
        durationMs: data.durationMs,
        clientIp: data.clientIp,
        ...outcomeFields(event),
      };
      if (serious) log.warn(line, "request");
      else log.info(line, "request");
    },
  };
}

function outcomeFields(event: RequestEvent): Record<string, unknown> {
  switch (event.type) {
    case "RequestCompleted":
      return { upstream: event.data.upstream, upstreamLatencyMs: event.data.upstreamLatencyMs };
    case "RequestRejected":
      return { stage: event.data.stage, reason: event.data.reason };
    case "RequestFailed":
      return { upstream: event.data.upstream, error: event.data.error, detail: event.data.detail };
  }
}
