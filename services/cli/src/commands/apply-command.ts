import { userInfo } from "node:os";
import { applyDeclaration, formatApplyResult, loadDeclarationFile } from "@tollgate/control-plane";
import { openEventStore, type EventStoreConfig } from "@tollgate/eventstore";

export interface ApplyCommandOptions {
  file: string;
  store: EventStoreConfig;
  dryRun: boolean;
  /** Recorded as the actor of every event; default: the OS user. */
  actor?: string;
  /** Where `keyFromEnv` / `passwordFromEnv` are read. */
  env?: Readonly<Record<string, string | undefined>>;
  write?: (line: string) => void;
}

/**
 * `tollgate apply FILE [--dry-run]`: prints the diff between the declaration and the
 * log, then appends only the events it needs (none with --dry-run). It talks to the
 * log directly, like `events tail`, so it works whether or not the control plane runs;
 * a running control plane picks the events up through its subscription.
 */
export async function applyCommand(options: ApplyCommandOptions): Promise<number> {
  const write = options.write ?? ((line: string) => process.stdout.write(line + "\n"));
  const declaration = await loadDeclarationFile(options.file);
  const { store } = await openEventStore(options.store);
  try {
    const result = await applyDeclaration({
      store,
      declaration,
      source: options.file,
      dryRun: options.dryRun,
      actor: { kind: "apply", id: options.actor ?? safeUserName() },
      env: options.env ?? process.env,
    });
    for (const line of formatApplyResult(result, options.file)) write(line);
    return 0;
  } finally {
    await store.close();
  }
}

function safeUserName(): string {
  try {
    return userInfo().username || "cli";
  } catch {
    return "cli";
  }
}
