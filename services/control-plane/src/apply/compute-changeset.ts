import { formatIssuePath } from "@tollgate/config";
import {
  type Credential,
  displayPrefixOf,
  type Entropy,
  hashApiKey,
  hashPassword,
  isWellFormedApiKey,
  type Plan,
  type ScryptParameters,
  type Subscription,
  verifyPassword,
} from "@tollgate/credentials";
import type { PlanDefinition } from "@tollgate/events";
import { consumerDecider } from "../domain/consumer/consumer-decider.js";
import type { Consumer } from "../domain/consumer/evolve-consumer.js";
import { credentialDecider } from "../domain/credential/credential-decider.js";
import type { DecisionContext } from "../domain/decider.js";
import { planDecider } from "../domain/plan/plan-decider.js";
import { routeDecider } from "../domain/route/route-decider.js";
import { subscriptionDecider } from "../domain/subscription/subscription-decider.js";
import { ControlPlaneError } from "../errors/control-plane-error.js";
import { problems as catalog } from "../errors/problem-catalog.js";
import type { ControlPlaneReadModel } from "../projections/control-plane-read-model.js";
import type { IdGenerator } from "../runtime/id-generator.js";
import type { DeclarationFile, DeclaredConsumer, DeclaredPlan } from "./declaration-file.js";
import { Workspace, type StagedEntity } from "./workspace.js";

export interface ChangesetInput {
  declaration: DeclarationFile;
  snapshot: ControlPlaneReadModel;
  context: DecisionContext;
  /** Where `keyFromEnv` and `passwordFromEnv` are looked up. */
  env: Readonly<Record<string, string | undefined>>;
  ids: IdGenerator;
  entropy: Entropy;
  scryptParameters?: ScryptParameters;
}

export interface Changeset {
  /** Entities that need events, in the order they are appended. */
  changes: StagedEntity[];
  /** Declared entities that already match. */
  unchanged: { kind: string; id: string }[];
  /** Everything that stops the file from being applied, each with its path in the file. */
  problems: string[];
}

/**
 * The diff between a declaration and the log, as the events that would make the log
 * match it. Every decision goes through the entities' own `decide`, so apply obeys the
 * same rules as the API, and a file that already matches yields no event at all.
 * Nothing is appended here.
 */
export async function computeChangeset(input: ChangesetInput): Promise<Changeset> {
  const { declaration, env } = input;
  const workspace = new Workspace(input.snapshot, input.context);
  const problems: string[] = [];

  /** Runs one declared entity's steps; a refused decision becomes a problem at `path`. */
  const attempt = async (path: (string | number)[], steps: () => void | Promise<void>): Promise<void> => {
    try {
      await steps();
    } catch (error) {
      if (!(error instanceof ControlPlaneError)) throw error;
      problems.push(`${formatIssuePath(path)}: ${error.detail}`);
    }
  };
  const problem = (path: (string | number)[], message: string): void => {
    problems.push(`${formatIssuePath(path)}: ${message}`);
  };

  for (const [index, route] of declaration.routes.entries()) {
    const { id, ...definition } = route;
    await attempt(["routes", index], () => void workspace.decide(routeDecider, id, { type: "DefineRoute", routeId: id, definition }));
  }

  for (const [index, plan] of declaration.plans.entries()) {
    await attempt(["plans", index], () => stagePlan(workspace, plan));
  }

  for (const [index, consumer] of declaration.consumers.entries()) {
    const path = ["consumers", index];
    await attempt(path, () => stageConsumer(workspace, consumer));

    for (const [keyIndex, key] of consumer.apiKeys.entries()) {
      const keyPath = [...path, "apiKeys", keyIndex];
      const presented = env[key.keyFromEnv];
      if (presented === undefined || presented === "") {
        problem([...keyPath, "keyFromEnv"], `environment variable ${key.keyFromEnv} is not set`);
        continue;
      }
      if (!isWellFormedApiKey(presented)) {
        problem([...keyPath, "keyFromEnv"], `${key.keyFromEnv} does not hold a Tollgate API key (tg_…, with a valid checksum)`);
        continue;
      }
      await attempt(keyPath, () => {
        const hash = hashApiKey(presented);
        const current = workspace.state(credentialDecider, key.id);
        checkOwner(current, consumer.id, "api-key");
        if (!current) {
          if (key.revoked) return;
          const consumerState = workspace.state(consumerDecider, consumer.id);
          workspace.decide(credentialDecider, key.id, {
            type: "IssueApiKey",
            credentialId: key.id,
            consumerId: consumer.id,
            consumer: consumerState,
            keyId: input.ids.entityId("key"),
            name: key.name,
            prefix: displayPrefixOf(presented),
            hash,
            expiresAt: key.expiresAt === null ? null : new Date(key.expiresAt).toISOString(),
          });
          return;
        }
        if (current.kind !== "api-key") return;
        if (revokedOrRevoking(workspace, key.id, current, key.revoked)) return;
        if (current.keys.at(-1)!.hash !== hash) {
          workspace.decide(credentialDecider, key.id, {
            type: "RotateApiKey",
            credentialId: key.id,
            keyId: input.ids.entityId("key"),
            prefix: displayPrefixOf(presented),
            hash,
            expiresAt: key.expiresAt === null ? null : new Date(key.expiresAt).toISOString(),
            overlapSeconds: key.rotationOverlapSeconds,
          });
        }
      });
    }

    for (const [userIndex, user] of consumer.basicUsers.entries()) {
      const userPath = [...path, "basicUsers", userIndex];
      const password = env[user.passwordFromEnv];
      if (password === undefined || password.length < 12) {
        problem([...userPath, "passwordFromEnv"], `environment variable ${user.passwordFromEnv} ${password === undefined ? "is not set" : "holds fewer than 12 characters"}`);
        continue;
      }
      await attempt(userPath, async () => {
        const current = workspace.state(credentialDecider, user.id);
        checkOwner(current, consumer.id, "basic");
        if (!current) {
          if (user.revoked) return;
          const conflicting = workspace
            .all(credentialDecider)
            .find((other) => other?.kind === "basic" && other.status === "active" && other.username === user.username);
          workspace.decide(credentialDecider, user.id, {
            type: "CreateBasicUser",
            credentialId: user.id,
            consumerId: consumer.id,
            consumer: workspace.state(consumerDecider, consumer.id),
            username: user.username,
            passwordHash: await hashPassword(password, input.entropy, input.scryptParameters),
            conflictingCredentialId: conflicting?.credentialId ?? null,
          });
          return;
        }
        if (current.kind !== "basic") return;
        if (current.username !== user.username) {
          throw new ControlPlaneError(
            catalog.invalidState,
            `username is "${current.username}" and cannot change; declare a new credential id`,
          );
        }
        if (revokedOrRevoking(workspace, user.id, current, user.revoked)) return;
        if (!(await verifyPassword(password, current.passwordHash))) {
          workspace.decide(credentialDecider, user.id, {
            type: "ChangeBasicPassword",
            credentialId: user.id,
            passwordHash: await hashPassword(password, input.entropy, input.scryptParameters),
          });
        }
      });
    }

    for (const [identityIndex, identity] of consumer.jwtIdentities.entries()) {
      const identityPath = [...path, "jwtIdentities", identityIndex];
      await attempt(identityPath, () => {
        const current = workspace.state(credentialDecider, identity.id);
        checkOwner(current, consumer.id, "jwt");
        if (!current) {
          if (identity.revoked) return;
          const key = JSON.stringify([identity.issuer, identity.match]);
          const conflicting = workspace
            .all(credentialDecider)
            .find((other) => other?.kind === "jwt" && other.status === "active" && JSON.stringify([other.issuer, other.match]) === key);
          workspace.decide(credentialDecider, identity.id, {
            type: "MapJwtIdentity",
            credentialId: identity.id,
            consumerId: consumer.id,
            consumer: workspace.state(consumerDecider, consumer.id),
            issuer: identity.issuer,
            match: identity.match,
            conflictingCredentialId: conflicting?.credentialId ?? null,
          });
          return;
        }
        if (current.kind !== "jwt") return;
        if (JSON.stringify([current.issuer, current.match]) !== JSON.stringify([identity.issuer, identity.match])) {
          problem(identityPath, "issuer and match of a JWT identity cannot change; declare a new credential id");
          return;
        }
        revokedOrRevoking(workspace, identity.id, current, identity.revoked);
      });
    }
  }

  for (const [index, declared] of declaration.subscriptions.entries()) {
    await attempt(["subscriptions", index], () => {
      const current: Subscription | null = workspace.state(subscriptionDecider, declared.id);
      const plan: Plan | null = workspace.state(planDecider, declared.plan);
      if (!current) {
        if (declared.status === "cancelled") return;
        const consumer: Consumer | null = workspace.state(consumerDecider, declared.consumer);
        workspace.decide(subscriptionDecider, declared.id, {
          type: "StartSubscription",
          subscriptionId: declared.id,
          consumerId: declared.consumer,
          planId: declared.plan,
          billingAnchor: null,
          consumer,
          plan,
          consumerSubscriptions: workspace.all(subscriptionDecider).filter((other): other is Subscription => other?.consumerId === declared.consumer),
        });
      } else {
        if (current.consumerId !== declared.consumer) {
          problem(["subscriptions", index, "consumer"], `subscription belongs to consumer "${current.consumerId}" and cannot move`);
          return;
        }
        if (current.status === "cancelled" && declared.status !== "cancelled") {
          problem(["subscriptions", index, "status"], "the subscription is cancelled, which is final; declare a new subscription id");
          return;
        }
        if (declared.status !== "cancelled") {
          workspace.decide(subscriptionDecider, declared.id, { type: "ChangeSubscriptionPlan", subscriptionId: declared.id, planId: declared.plan, plan });
        }
      }
      if (declared.status === "suspended") {
        workspace.decide(subscriptionDecider, declared.id, { type: "SuspendSubscription", subscriptionId: declared.id, reason: null });
      } else if (declared.status === "active") {
        workspace.decide(subscriptionDecider, declared.id, { type: "ReactivateSubscription", subscriptionId: declared.id });
      } else {
        workspace.decide(subscriptionDecider, declared.id, { type: "CancelSubscription", subscriptionId: declared.id, reason: null });
      }
    });
  }

  const changes = workspace.changed();
  const changed = new Set(changes.map((entity) => entity.streamId));
  const declared = [
    ...declaration.routes.map((route) => ({ kind: "route", id: route.id })),
    ...declaration.plans.map((plan) => ({ kind: "plan", id: plan.id })),
    ...declaration.consumers.flatMap((consumer) => [
      { kind: "consumer", id: consumer.id },
      ...[...consumer.apiKeys, ...consumer.basicUsers, ...consumer.jwtIdentities].map((credential) => ({ kind: "credential", id: credential.id })),
    ]),
    ...declaration.subscriptions.map((subscription) => ({ kind: "subscription", id: subscription.id })),
  ];
  const unchanged = declared.filter((entity) => !changed.has(`${entity.kind}-${entity.id}`));
  return { changes, unchanged, problems };
}

function stagePlan(workspace: Workspace, declared: DeclaredPlan): void {
  const { id, archived, ...definition } = declared;
  const current: Plan | null = workspace.state(planDecider, id);
  if (!current) {
    workspace.decide(planDecider, id, { type: "CreatePlan", planId: id, definition: definition satisfies PlanDefinition });
  } else if (current.archived) {
    if (!archived) {
      throw new ControlPlaneError(
        catalog.invalidState,
        "the plan is archived, which cannot be undone; set archived: true or declare a new plan id",
      );
    }
    return;
  } else {
    workspace.decide(planDecider, id, { type: "UpdatePlan", planId: id, changes: definition });
  }
  if (archived) workspace.decide(planDecider, id, { type: "ArchivePlan", planId: id });
}

function stageConsumer(workspace: Workspace, declared: DeclaredConsumer): void {
  const { id, name, email, labels } = declared;
  const current: Consumer | null = workspace.state(consumerDecider, id);
  if (!current) workspace.decide(consumerDecider, id, { type: "RegisterConsumer", consumerId: id, profile: { name, email, labels } });
  else workspace.decide(consumerDecider, id, { type: "UpdateConsumer", consumerId: id, changes: { name, email, labels } });
}

function checkOwner(current: Credential | null, consumerId: string, kind: Credential["kind"]): void {
  if (!current) return;
  if (current.consumerId !== consumerId) throw new ControlPlaneError(catalog.invalidState, `credential "${current.credentialId}" belongs to consumer "${current.consumerId}"`);
  if (current.kind !== kind) throw new ControlPlaneError(catalog.invalidState, `credential "${current.credentialId}" is a ${current.kind} credential, not ${kind}`);
}

/** True when nothing more is to be done: it is revoked already (and may stay so), or is being revoked now. */
function revokedOrRevoking(workspace: Workspace, id: string, current: Credential, revoke: boolean): boolean {
  if (current.status === "revoked") {
    if (!revoke) {
      throw new ControlPlaneError(
        catalog.invalidState,
        "the credential is revoked, which is final; set revoked: true or declare a new credential id",
      );
    }
    return true;
  }
  if (revoke) {
    workspace.decide(credentialDecider, id, { type: "RevokeCredential", credentialId: id, reason: "revoked by apply" });
    return true;
  }
  return false;
}
