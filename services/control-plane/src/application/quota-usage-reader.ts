import { existsSync } from "node:fs";
import type { Quota } from "@tollgate/events";
import type { Logger } from "@tollgate/observability";
import { SqliteQuotaReader, usageWindow, type PlanTerms, type SubscriptionTerms } from "@tollgate/quota-projector";
import type { Clock } from "../runtime/clock.js";
import type { PlanView, SubscriptionView } from "./entity-views.js";

/** A subscription's quota use in its current period, as the API answers it. */
export interface QuotaUsageView {
  subscriptionId: string;
  planId: string;
  period: Quota["period"];
  periodStart: string;
  periodEnd: string;
  billingAnchor: string | null;
  quota: Quota | null;
  requests: number;
  admitted: number;
  billable: number;
  /** `quota.limit - billable`, never below 0; null without a quota. */
  remaining: number | null;
  /** Whether the counts come from the quota projection; false: it does not exist (yet), and the counts are zero. */
  projected: boolean;
  /** The last log position the counts include; null when nothing has been projected. */
  checkpointPosition: string | null;
}

export interface QuotaUsageReaderOptions {
  /** The quota projector's store file. */
  file: string;
  /** The quota projector's name (its checkpoint's name). */
  projectorName: string;
  clock: Clock;
  logger?: Logger;
}

/**
 * Quota use per subscription and period, read from the quota projector's own SQLite
 * file: the projection of the log that also reconciles the gateways' counters, so the
 * API shows the numbers the quota is enforced by, and up to which log position they are
 * counted. The control plane opens the file read-only and never writes it.
 *
 * The period, the plan and the counts come from one read of the projection (its state
 * at its checkpoint). A subscription the projection has not reached yet, or a file that
 * does not exist yet (no projector has run) or has an older schema (the projector will
 * rebuild it), reads as zero use in the period the control plane's own view gives.
 */
export class QuotaUsageReader {
  readonly #options: QuotaUsageReaderOptions;
  #reader: SqliteQuotaReader | null = null;
  #failing = false;

  constructor(options: QuotaUsageReaderOptions) {
    this.#options = options;
  }

  read(subscription: SubscriptionView, plan: PlanView | null): QuotaUsageView {
    const at = this.#options.clock.now().getTime();
    const fallback: { subscription: SubscriptionTerms; plan: PlanTerms | null } = {
      subscription: { planId: subscription.planId, billingAnchor: subscription.billingAnchor === null ? null : Date.parse(subscription.billingAnchor) },
      plan: plan === null ? null : { planId: plan.id, quota: plan.quota, billing: plan.billing ?? null },
    };
    const projected = this.#open()?.usageAt(subscription.id, at, fallback) ?? null;
    if (projected === null) {
      const window = usageWindow(at, fallback.plan, fallback.subscription);
      return view(subscription.id, fallback.subscription, fallback.plan?.quota ?? null, window, { requests: 0, admitted: 0, billable: 0 }, false, null);
    }
    const { usage } = projected;
    return view(
      subscription.id,
      projected.subscription,
      // The plan's quota as the projection holds it now: the one the period was chosen by.
      projected.plan?.quota ?? null,
      { period: usage.period, start: usage.periodStart, end: usage.periodEnd },
      usage,
      true,
      projected.checkpoint === null ? null : projected.checkpoint.toString(),
    );
  }

  close(): void {
    this.#reader?.close();
    this.#reader = null;
  }

  #open(): SqliteQuotaReader | null {
    if (this.#reader !== null) return this.#reader;
    const { file, projectorName, logger } = this.#options;
    if (!existsSync(file)) return null;
    try {
      this.#reader = SqliteQuotaReader.open({ file, name: projectorName });
      if (this.#failing) logger?.info({ file }, "quota projection readable again");
      this.#failing = false;
    } catch (error) {
      if (!this.#failing) logger?.warn({ err: error, file }, "quota projection cannot be opened; usage reads as not projected");
      this.#failing = true;
    }
    return this.#reader;
  }
}

function view(
  subscriptionId: string,
  subscription: SubscriptionTerms,
  quota: Quota | null,
  window: { period: Quota["period"]; start: number; end: number },
  counts: { requests: number; admitted: number; billable: number },
  projected: boolean,
  checkpointPosition: string | null,
): QuotaUsageView {
  return {
    subscriptionId,
    planId: subscription.planId,
    period: window.period,
    periodStart: new Date(window.start).toISOString(),
    periodEnd: new Date(window.end).toISOString(),
    billingAnchor: subscription.billingAnchor === null ? null : new Date(subscription.billingAnchor).toISOString(),
    quota,
    requests: counts.requests,
    admitted: counts.admitted,
    billable: counts.billable,
    remaining: quota === null ? null : Math.max(0, quota.limit - counts.billable),
    projected,
    checkpointPosition,
  };
}
