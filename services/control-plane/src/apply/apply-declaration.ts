import { ConfigError, loadConfigFile } from "@tollgate/config";
import { defaultScryptParameters, type Entropy, type ScryptParameters, systemEntropy } from "@tollgate/credentials";
import type { Actor } from "@tollgate/events";
import type { EventStore } from "@tollgate/eventstore";
import { CommandHandler } from "../application/command-handler.js";
import { systemClock, type Clock } from "../runtime/clock.js";
import { randomIds, type IdGenerator } from "../runtime/id-generator.js";
import { computeChangeset } from "./compute-changeset.js";
import { DeclarationFile } from "./declaration-file.js";
import { describeEntity } from "./describe-change.js";
import { loadControlSnapshot } from "./load-control-snapshot.js";

export interface ApplyDeclarationOptions {
  store: EventStore;
  declaration: DeclarationFile;
  /** Names the declaration in errors: its file path. */
  source?: string;
  /** Compute and report the diff, append nothing. */
  dryRun?: boolean;
  actor: Actor;
  /** Where `keyFromEnv` / `passwordFromEnv` are read. */
  env?: Readonly<Record<string, string | undefined>>;
  clock?: Clock;
  ids?: IdGenerator;
  entropy?: Entropy;
  scryptParameters?: ScryptParameters;
}

export interface AppliedChange {
  kind: string;
  id: string;
  action: "create" | "update";
  /** One human-readable line per event. */
  events: string[];
}

export interface ApplyResult {
  dryRun: boolean;
  changes: AppliedChange[];
  unchanged: { kind: string; id: string }[];
  /** Events appended (0 on a dry run), or that would be. */
  eventCount: number;
  /** Log position after the last append; null when nothing was appended. */
  position: string | null;
}

/** Reads and validates a declaration file (YAML or JSON); throws ConfigError listing every problem with its path. */
export function loadDeclarationFile(path: string): Promise<DeclarationFile> {
  return loadConfigFile(path, DeclarationFile);
}

/**
 * `tollgate apply`: makes the log match the declaration by appending only the events
 * the diff needs. Applying the same file again finds nothing to do.
 *
 * Each entity's events are appended in one append that expects the revision the diff
 * was computed on, so a change made concurrently (through the API) is never
 * overwritten: that entity's append fails with version-conflict, apply stops, and
 * running it again computes a fresh diff. Appends of different entities are not one
 * transaction; because apply is idempotent, re-running after a failure converges.
 */
export async function applyDeclaration(options: ApplyDeclarationOptions): Promise<ApplyResult> {
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? randomIds;
  const snapshot = await loadControlSnapshot(options.store);
  const changeset = await computeChangeset({
    declaration: options.declaration,
    snapshot,
    context: { actor: options.actor, now: clock.now() },
    env: options.env ?? {},
    ids,
    entropy: options.entropy ?? systemEntropy,
    scryptParameters: options.scryptParameters ?? defaultScryptParameters,
  });
  if (changeset.problems.length > 0) throw new ConfigError(options.source ?? "(declaration)", changeset.problems);

  const changes = changeset.changes.map(describeEntity);
  const eventCount = changeset.changes.reduce((sum, entity) => sum + entity.events.length, 0);
  const result: ApplyResult = { dryRun: options.dryRun ?? false, changes, unchanged: changeset.unchanged, eventCount, position: null };
  if (result.dryRun) return result;

  const commands = new CommandHandler({ store: options.store, clock, ids });
  for (const entity of changeset.changes) {
    const appended = await commands.append(entity.decider, entity.id, entity.basis, entity.events, { actor: options.actor });
    if (appended.position !== null) result.position = appended.position.toString();
  }
  return result;
}

/** The diff as text: `+` creates, `~` updates, `=` already matches; then one line per event. */
export function formatApplyResult(result: ApplyResult, source: string): string[] {
  const lines: string[] = [];
  for (const change of result.changes) {
    lines.push(`${change.action === "create" ? "+" : "~"} ${change.kind} ${change.id}`);
    for (const event of change.events) lines.push(`    ${event}`);
  }
  for (const entity of result.unchanged) lines.push(`= ${entity.kind} ${entity.id}`);
  const entities = `${result.changes.length} ${result.changes.length === 1 ? "entity" : "entities"}`;
  const events = `${result.eventCount} ${result.eventCount === 1 ? "event" : "events"}`;
  if (result.eventCount === 0) lines.push(`nothing to do: the log already matches ${source}`);
  else if (result.dryRun) lines.push(`dry run: ${events} for ${entities} would be appended; nothing was written`);
  else lines.push(`applied: ${events} for ${entities} appended (log position ${result.position ?? "?"})`);
  return lines;
}
