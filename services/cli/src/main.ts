#!/usr/bin/env node
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { EventStoreConfig } from "@tollgate/eventstore";
import { applyCommand } from "./commands/apply-command.js";
import { billingReconcile } from "./commands/billing-reconcile-command.js";
import { billingRerate } from "./commands/billing-rerate-command.js";
import { tailEvents } from "./commands/events-command.js";
import { startPlatform } from "./commands/start-platform.js";

const usage = `tollgate <command>

Commands:
  start [--gateway-config FILE] [--control-plane-config FILE] [--quota-projector-config FILE] [--analytics-projector-config FILE] [--billing-projector-config FILE] [--demo-port N]
      Start every Tollgate service on embedded defaults, with a demo upstream.
  events tail [-n N] [--follow] [--json] [--store FILE | --esdb CONNECTION_STRING]
      Print the latest events of the log (default ./data/events.db).
  apply FILE [--dry-run] [--actor NAME] [--store FILE | --esdb CONNECTION_STRING]
      Make the log's plans, consumers, credentials, subscriptions and routes match FILE;
      prints the diff, appends only the events it needs (none with --dry-run).
  billing reconcile --period YYYY-MM [--subscription ID] [--json] [--store FILE | --esdb CONNECTION_STRING]
                    [--billing-store FILE] [--projector-name NAME]
      The month's reconciliation: billable units recounted from the log, billing.db's usage
      and ledger (reported, pending, rejected, unplanned), late adjustments. Exit 2 when a
      difference is unexplained. Reads only (default billing store ./data/billing-projector.db).
  billing rerate --period YYYY-MM --pricing FILE.json [--subscription ID] [--json] [--billing-store FILE]
      Re-rate a past month with corrected prices: the difference per subscription. A dry run.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "start": {
      const { values } = parseArgs({
        args: rest,
        options: {
          "gateway-config": { type: "string", default: defaultConfig("gateway.yaml") },
          "control-plane-config": { type: "string", default: defaultConfig("control-plane.yaml") },
          "quota-projector-config": { type: "string", default: defaultConfig("quota-projector.yaml") },
          "analytics-projector-config": { type: "string", default: defaultConfig("analytics-projector.yaml") },
          "billing-projector-config": { type: "string", default: defaultConfig("billing-projector.yaml") },
          "demo-port": { type: "string", default: "9090" },
        },
      });
      return startPlatform({
        gatewayConfig: resolve(values["gateway-config"]),
        controlPlaneConfig: resolve(values["control-plane-config"]),
        quotaProjectorConfig: resolve(values["quota-projector-config"]),
        analyticsProjectorConfig: resolve(values["analytics-projector-config"]),
        billingProjectorConfig: resolve(values["billing-projector-config"]),
        demoHost: "127.0.0.1",
        demoPort: Number(values["demo-port"]),
      });
    }
    case "events": {
      const [sub, ...options] = rest;
      if (sub !== "tail") break;
      const { values } = parseArgs({
        args: options,
        options: {
          n: { type: "string", short: "n", default: "10" },
          follow: { type: "boolean", short: "f", default: false },
          json: { type: "boolean", default: false },
          store: { type: "string", default: "./data/events.db" },
          esdb: { type: "string" },
        },
      });
      const store = EventStoreConfig.parse(
        values.esdb ? { kind: "eventstoredb", connectionString: values.esdb } : { kind: "sqlite", file: values.store },
      );
      const controller = new AbortController();
      process.once("SIGINT", () => controller.abort());
      await tailEvents({ store, count: Number(values.n), follow: values.follow, json: values.json, signal: controller.signal });
      return 0;
    }
    case "apply": {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          "dry-run": { type: "boolean", default: false },
          actor: { type: "string" },
          store: { type: "string", default: "./data/events.db" },
          esdb: { type: "string" },
        },
      });
      if (positionals.length !== 1) break;
      const store = EventStoreConfig.parse(
        values.esdb ? { kind: "eventstoredb", connectionString: values.esdb } : { kind: "sqlite", file: values.store },
      );
      return applyCommand({ file: resolve(positionals[0]!), store, dryRun: values["dry-run"], ...(values.actor ? { actor: values.actor } : {}) });
    }
    case "billing": {
      const [sub, ...options] = rest;
      if (sub !== "reconcile" && sub !== "rerate") break;
      const { values } = parseArgs({
        args: options,
        options: {
          period: { type: "string" },
          subscription: { type: "string" },
          pricing: { type: "string" },
          json: { type: "boolean", default: false },
          store: { type: "string", default: "./data/events.db" },
          esdb: { type: "string" },
          "billing-store": { type: "string", default: "./data/billing-projector.db" },
          "projector-name": { type: "string", default: "billing-projector" },
        },
      });
      if (values.period === undefined || (sub === "rerate" && values.pricing === undefined)) break;
      const common = {
        billingStore: resolve(values["billing-store"]),
        projectorName: values["projector-name"],
        month: values.period,
        json: values.json,
        ...(values.subscription === undefined ? {} : { subscriptionId: values.subscription }),
      };
      if (sub === "rerate") return billingRerate({ ...common, pricingFile: resolve(values.pricing!) });
      const store = EventStoreConfig.parse(values.esdb ? { kind: "eventstoredb", connectionString: values.esdb } : { kind: "sqlite", file: values.store });
      return billingReconcile({ ...common, store });
    }
    case undefined:
    case "help":
    case "--help":
      process.stdout.write(usage);
      return 0;
  }
  process.stderr.write(`unknown command: ${argv.join(" ")}\n\n${usage}`);
  return 2;
}

function defaultConfig(name: string): string {
  return new URL(`../config/${name}`, import.meta.url).pathname;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
