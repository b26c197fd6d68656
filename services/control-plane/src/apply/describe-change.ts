import type { ControlEvent } from "@tollgate/events";
import type { StagedEntity } from "./workspace.js";

/** One line per event, for people reading the diff: what changes, never a secret (keys show their display prefix). */
export function describeEvent(event: ControlEvent, before: unknown): string {
  const old = (before ?? {}) as Record<string, unknown>;
  switch (event.type) {
    case "PlanUpdated":
    case "ConsumerUpdated":
      return `${event.type}: ${Object.entries(event.data.changes)
        .map(([field, value]) => `${field} ${short(old[field])} → ${short(value)}`)
        .join(", ")}`;
    case "ApiKeyIssued":
      return `${event.type}: key ${event.data.prefix}…${event.data.expiresAt ? `, expires ${event.data.expiresAt}` : ""}`;
    case "ApiKeyRotated":
      return `${event.type}: new key ${event.data.prefix}…; the previous key works until ${event.data.previousKeyExpiresAt}`;
    case "BasicUserCreated":
      return `${event.type}: ${event.data.username} (password stored as a scrypt hash)`;
    case "BasicPasswordChanged":
      return `${event.type}: the password in the environment differs from the stored one`;
    case "JwtIdentityMapped":
      return `${event.type}: ${event.data.issuer} ${event.data.match.kind === "subject" ? `sub=${event.data.match.subject}` : `${event.data.match.claim}=${event.data.match.value}`}`;
    case "SubscriptionStarted":
      return `${event.type}: consumer ${event.data.consumerId} on plan ${event.data.planId}`;
    case "SubscriptionPlanChanged":
      return `${event.type}: plan ${event.data.fromPlanId} → ${event.data.toPlanId}`;
    case "RouteDefined":
      return `${event.type}: ${event.data.match.pathPrefix} → ${event.data.upstream}`;
    default:
      return event.type;
  }
}

export function describeEntity(entity: StagedEntity): { kind: string; id: string; action: "create" | "update"; events: string[] } {
  let before = entity.basis.state;
  const events: string[] = [];
  for (const event of entity.events) {
    events.push(describeEvent(event, before));
    before = entity.decider.evolve(before, event) as unknown;
  }
  return {
    kind: entity.decider.category,
    id: entity.id,
    action: entity.basis.revision === -1 ? "create" : "update",
    events,
  };
}

function short(value: unknown): string {
  const text = JSON.stringify(value) ?? "undefined";
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}
