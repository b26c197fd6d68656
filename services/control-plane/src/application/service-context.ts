import type { Entropy, ScryptParameters, SecretBox } from "@tollgate/credentials";
import type { Actor } from "@tollgate/events";
import type { EventStore, Position } from "@tollgate/eventstore";
import type { Logger } from "@tollgate/observability";
import { ControlPlaneError } from "../errors/control-plane-error.js";
import { problems } from "../errors/problem-catalog.js";
import type { EntityRecord } from "../projections/entity-record.js";
import type { ControlPlaneReadModel } from "../projections/control-plane-read-model.js";
import type { Clock } from "../runtime/clock.js";
import type { IdGenerator } from "../runtime/id-generator.js";
import type { CommandHandler } from "./command-handler.js";

/** What every application service needs; built once in createControlPlane. */
export interface ServiceContext {
  store: EventStore;
  commands: CommandHandler;
  readModel: ControlPlaneReadModel;
  clock: Clock;
  ids: IdGenerator;
  entropy: Entropy;
  /** Null when no encryption key is configured: HMAC secrets cannot be issued then. */
  secretBox: SecretBox | null;
  scryptParameters: ScryptParameters;
  /** How long a write waits for the read model to reflect it before answering. */
  readYourWritesTimeoutMs: number;
  logger?: Logger;
}

/** Who is acting and on what version their change is based. */
export interface WriteOptions {
  actor: Actor;
  expectedRevision?: number;
  requestId?: string;
}

/**
 * Read-your-writes: after an append at `position`, waits until the read model has
 * applied it, so the answer (and any read that follows it) shows the change. If the
 * read model is slower than the timeout, the entity is folded from its stream instead:
 * the change is recorded either way, and the answer still shows it.
 */
export async function readAfterWrite<State>(
  context: ServiceContext,
  position: Position | null,
  fromReadModel: () => EntityRecord<State> | undefined,
  fromLog: () => Promise<EntityRecord<State> | undefined>,
): Promise<EntityRecord<State>> {
  if (position !== null && (await context.readModel.waitFor(position, context.readYourWritesTimeoutMs))) {
    const record = fromReadModel();
    if (record && record.position >= position) return record;
  } else if (position !== null) {
    context.logger?.warn({ position: position.toString(), timeoutMs: context.readYourWritesTimeoutMs }, "read model lagging behind a write");
  }
  const record = await fromLog();
  if (!record) throw new ControlPlaneError(problems.internalError, "the entity just written could not be read back");
  return record;
}

export function notFound(kind: string, id: string): ControlPlaneError {
  return new ControlPlaneError(problems.notFound, `${kind} "${id}" does not exist`);
}
