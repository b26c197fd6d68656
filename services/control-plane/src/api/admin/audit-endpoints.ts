import type { ControlPlaneServices } from "../../application/control-plane-services.js";
import { isControlCategory, readAuditLog } from "../../audit/read-audit-log.js";
import { defineEndpoint, type AnyEndpoint } from "../endpoint.js";
import { validationError } from "../problem-response.js";
import { AuditPage, AuditQuery } from "../schemas/audit-schemas.js";
import { readResponses } from "../standard-responses.js";

export function auditEndpoints({ context }: ControlPlaneServices): AnyEndpoint[] {
  return [
    defineEndpoint({
      method: "get",
      path: "/admin/audit",
      operationId: "readAuditLog",
      summary: "Who changed what and when, read from the log (oldest first, paged)",
      tag: "audit",
      access: "admin:read",
      query: AuditQuery,
      responses: { 200: { description: "One page of changes", schema: AuditPage }, ...readResponses },
      handle: async ({ query }) => {
        const category = query.entity?.split("-")[0];
        if (category !== undefined && !isControlCategory(category)) {
          throw validationError([{ path: "query.entity", message: `unknown entity kind "${category}"` }]);
        }
        const page = await readAuditLog(context.store, {
          entity: query.entity,
          since: query.since ? new Date(query.since) : undefined,
          actor: query.actor,
          after: query.after === undefined ? undefined : BigInt(query.after),
          limit: query.limit,
        });
        return { status: 200, body: page };
      },
    }),
  ];
}
