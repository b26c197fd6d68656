import { billableUnits, type BillingRulesOverride, billingStreamCategory, defaultBillingRules, layerBillingRules, parseEvent, streamCategories, streamPrefix } from "@tollgate/events";
import { resolveBillingRules } from "./billing-rules-resolver.js";
import type { BillingRulesResolver } from "./usage-aggregation.js";
import type { EventStore } from "@tollgate/eventstore";
import { billingPeriod, periodOfMonth, type BillingPeriod } from "./billing-period.js";
import type { SqliteBillingRecords } from "./sqlite-billing-records.js";
import type { BillingSettings } from "./sqlite-billing-store.js";
import { isAdjustment } from "./usage-aggregation.js";

/** Units of reports by what became of them. */
export interface LedgerUnits {
  /** Accepted by Stripe (marked reported in the ledger). */
  reported: number;
  /** Planned, sent or being retried, not accepted yet. */
  pending: number;
  /** Refused by Stripe for good; each report says why. */
  rejected: number;
  /** Counted, not in any report yet (no Stripe key or customer yet, or not planned yet). */
  unplanned: number;
}

/** One subscription and meter in one billing month: the log, our records and Stripe's side, side by side. */
export interface ReconciliationLine {
  subscriptionId: string;
  meterEventName: string;
  periodStart: number;
  periodEnd: number;
  /** Recounted from the log here, up to the projection's checkpoint, independently of billing.db. */
  log: {
    /** Billable units of requests that happened in the period and were logged before it closed. */
    onTime: number;
    /** Billable units of the period logged after it closed: adjustments of a later period. */
    lateOut: number;
    /** Billable units of earlier, closed periods logged while this one was the first open one: adjustments into it. */
    lateIn: number;
    /** Billable units of the period logged after the projection's checkpoint: not counted anywhere yet. */
    notYetProjected: number;
  };
  /** The projection in billing.db. */
  projection: { units: number; adjustedOut: number; adjustedIn: number };
  /** The ledger, for what is billed in this period (its own units and the adjustments into it). */
  ledger: LedgerUnits;
  /** Units of UsageReported / UsageAdjustmentReported events in the log for this period. */
  recordedInLog: number;
  /** balanced: log = projection = reported; explained: every difference has a stated reason; unexplained: a difference without one. */
  status: "balanced" | "explained" | "unexplained";
  differences: string[];
}

export interface ReconciliationReport {
  month: string;
  /** The projection's checkpoint: the log is recounted up to it. */
  checkpoint: string | null;
  head: string;
  lines: ReconciliationLine[];
  totals: { billable: number; onTime: number; lateOut: number; lateIn: number; billedInPeriod: number } & LedgerUnits;
  status: "balanced" | "explained" | "unexplained";
}

interface Subscription {
  planId: string;
  anchor: number | null;
  closedThrough: number | null;
}

const pageSize = 2_000;

/**
 * Reconciles one billing month. The log is recounted from position 0 with the billing
 * rules from `@tollgate/events` (`billableUnits`: a WebSocket session can bill several
 * units) and the rules the projector records in its
 * file, by a fold of its own (plans' meters, subscriptions' anchors and closes, each
 * request's period); it does not read the projection to do so. Then, per subscription and
 * meter, it lines up:
 *   log (on time, late out, late in) → projection (billing.db) → ledger (reported, pending,
 *   rejected, unplanned) → UsageReported events in the log,
 * and says why any of them differ.
 */
export async function reconcileMonth(input: { eventStore: EventStore; records: SqliteBillingRecords; month: string; subscriptionId?: string }): Promise<ReconciliationReport> {
  const { eventStore, records, month } = input;
  periodOfMonth(month, null); // validates the month
  // The records first, then the log: the log can only be ahead of them, never behind.
  const snapshot = records.snapshot((r) => ({ checkpoint: r.checkpoint(), settings: r.settings(), usage: r.allUsage(), reports: r.reports() }));
  const head = await eventStore.headPosition();
  const rulesFor = rulesFrom(snapshot.settings);
  const checkpoint = snapshot.checkpoint ?? 0n;

  const lines = new Map<string, ReconciliationLine>();
  const subscriptions = new Map<string, Subscription>();
  const meters = new Map<string, string | null>();
  /** Each plan's own billing rules, as the log stands at the event being read. */
  const planRules = new Map<string, BillingRulesOverride | null>();
  const periodOf = (subscriptionId: string): BillingPeriod | null => {
    const subscription = subscriptions.get(subscriptionId);
    return subscription === undefined ? null : periodOfMonth(month, subscription.anchor);
  };
  const lineOf = (subscriptionId: string, meterEventName: string, period: BillingPeriod): ReconciliationLine => {
    const key = `${subscriptionId}|${meterEventName}`;
    let line = lines.get(key);
    if (line === undefined) {
      line = {
        subscriptionId,
        meterEventName,
        periodStart: period.start,
        periodEnd: period.end,
        log: { onTime: 0, lateOut: 0, lateIn: 0, notYetProjected: 0 },
        projection: { units: 0, adjustedOut: 0, adjustedIn: 0 },
        ledger: { reported: 0, pending: 0, rejected: 0, unplanned: 0 },
        recordedInLog: 0,
        status: "balanced",
        differences: [],
      };
      lines.set(key, line);
    }
    return line;
  };
  const wanted = (subscriptionId: string): boolean => input.subscriptionId === undefined || input.subscriptionId === subscriptionId;

  const filter = {
    streamPrefixes: [
      streamPrefix(streamCategories.requests),
      streamPrefix(streamCategories.plan),
      streamPrefix(streamCategories.subscription),
      `${billingStreamCategory}-`,
    ],
  };
  for (let from = 0n; from < head; ) {
    const page = await eventStore.readAll({ from, limit: pageSize, filter });
    if (page.length === 0) break;
    for (const recorded of page) {
      if (recorded.position > head) break;
      const event = parseEvent(recorded.type, recorded.version, recorded.data);
      switch (event.type) {
        case "PlanCreated":
          meters.set(event.data.planId, event.data.price.stripeMeterEventName);
          planRules.set(event.data.planId, event.data.billing ?? null);
          break;
        case "PlanUpdated":
          if (event.data.changes.price !== undefined) meters.set(event.data.planId, event.data.changes.price.stripeMeterEventName);
          if (event.data.changes.billing !== undefined) planRules.set(event.data.planId, event.data.changes.billing);
          break;
        case "SubscriptionStarted": {
          const anchor = event.data.billingAnchor;
          subscriptions.set(event.data.subscriptionId, { planId: event.data.planId, anchor: anchor == null ? null : Date.parse(anchor), closedThrough: null });
          break;
        }
        case "SubscriptionPlanChanged": {
          const subscription = subscriptions.get(event.data.subscriptionId);
          if (subscription !== undefined) subscription.planId = event.data.toPlanId;
          break;
        }
        case "BillingPeriodClosed": {
          const subscription = subscriptions.get(event.data.subscriptionId);
          if (subscription !== undefined && recorded.position <= checkpoint) {
            subscription.closedThrough = Math.max(subscription.closedThrough ?? 0, Date.parse(event.data.periodEnd));
          }
          break;
        }
        case "UsageReported":
        case "UsageAdjustmentReported": {
          const period = periodOf(event.data.subscriptionId);
          if (period === null || !wanted(event.data.subscriptionId) || Date.parse(event.data.periodStart) !== period.start) break;
          lineOf(event.data.subscriptionId, event.data.meterEventName, period).recordedInLog += event.data.units;
          break;
        }
        case "RequestCompleted":
        case "RequestRejected":
        case "RequestFailed": {
          const { subscriptionId } = event.data;
          if (subscriptionId === null || !wanted(subscriptionId)) break;
          const subscription = subscriptions.get(subscriptionId);
          const planId = event.data.planId ?? subscription?.planId ?? null;
          const meter = planId === null ? null : (meters.get(planId) ?? null);
          if (subscription === undefined || meter === null) break;
          const units = billableUnits(event, rulesFor(planId, planId === null ? null : (planRules.get(planId) ?? null)));
          if (units === 0) break;
          const period = periodOfMonth(month, subscription.anchor);
          const at = Date.parse(event.data.startedAt);
          const origin = billingPeriod(at, subscription.anchor);
          const closed = subscription.closedThrough !== null && origin.end <= subscription.closedThrough;
          const billedIn = closed ? billingPeriod(subscription.closedThrough!, subscription.anchor) : origin;
          if (origin.start !== period.start && billedIn.start !== period.start) break;
          const line = lineOf(subscriptionId, meter, period);
          if (recorded.position > checkpoint) {
            if (origin.start === period.start) line.log.notYetProjected += units;
          } else if (origin.start === period.start && billedIn.start === period.start) line.log.onTime += units;
          else if (origin.start === period.start) line.log.lateOut += units;
          else line.log.lateIn += units;
          break;
        }
        default:
          break;
      }
    }
    from = page.at(-1)!.position;
  }

  // The projection and the ledger, per usage document.
  for (const usage of snapshot.usage) {
    if (!wanted(usage.subscriptionId)) continue;
    const period = periodOf(usage.subscriptionId) ?? periodOfMonth(month, null);
    const own = usage.periodStart === period.start;
    const from = usage.originPeriodStart === period.start;
    if (!own && !from) continue;
    const line = lineOf(usage.subscriptionId, usage.meterEventName, period);
    if (own && !isAdjustment(usage)) line.projection.units += usage.units;
    else if (own) line.projection.adjustedIn += usage.units;
    else line.projection.adjustedOut += usage.units;
    if (!own) continue;
    const reports = snapshot.reports.filter(
      (report) => report.subscriptionId === usage.subscriptionId && report.meterEventName === usage.meterEventName && report.periodStart === usage.periodStart && report.originPeriodStart === usage.originPeriodStart,
    );
    let planned = 0;
    for (const report of reports) {
      planned += report.units;
      line.ledger[report.status] += report.units;
    }
    line.ledger.unplanned += Math.max(0, usage.units - planned);
  }

  for (const line of lines.values()) explain(line, snapshot.checkpoint);
  const all = [...lines.values()].sort((a, b) => a.subscriptionId.localeCompare(b.subscriptionId) || a.meterEventName.localeCompare(b.meterEventName));
  const sum = (pick: (line: ReconciliationLine) => number): number => all.reduce((total, line) => total + pick(line), 0);
  return {
    month,
    checkpoint: snapshot.checkpoint === null ? null : String(snapshot.checkpoint),
    head: String(head),
    lines: all,
    totals: {
      billable: sum((l) => l.log.onTime + l.log.lateOut + l.log.notYetProjected),
      onTime: sum((l) => l.log.onTime),
      lateOut: sum((l) => l.log.lateOut),
      lateIn: sum((l) => l.log.lateIn),
      billedInPeriod: sum((l) => l.projection.units + l.projection.adjustedIn),
      reported: sum((l) => l.ledger.reported),
      pending: sum((l) => l.ledger.pending),
      rejected: sum((l) => l.ledger.rejected),
      unplanned: sum((l) => l.ledger.unplanned),
    },
    status: all.some((l) => l.status === "unexplained") ? "unexplained" : all.some((l) => l.status === "explained") ? "explained" : "balanced",
  };
}

/** Compares the columns of one line, and gives every difference its reason (or none: unexplained). */
function explain(line: ReconciliationLine, checkpoint: bigint | null): void {
  const unexplained: string[] = [];
  const explained: string[] = [];
  const { log, projection, ledger } = line;
  if (log.onTime !== projection.units) unexplained.push(`the log has ${log.onTime} billable units in the period, the projection ${projection.units}`);
  if (log.lateOut !== projection.adjustedOut) unexplained.push(`the log has ${log.lateOut} late units of the period, the projection's adjustments ${projection.adjustedOut}`);
  if (log.lateIn !== projection.adjustedIn) unexplained.push(`the log has ${log.lateIn} late units of earlier periods, the projection's adjustments into this one ${projection.adjustedIn}`);
  const billed = projection.units + projection.adjustedIn;
  const accounted = ledger.reported + ledger.pending + ledger.rejected + ledger.unplanned;
  if (billed !== accounted) unexplained.push(`${billed} units billed in the period, ${accounted} in the ledger`);
  if (log.lateOut > 0) explained.push(`${log.lateOut} units arrived after the period closed: reported as adjustments in a later period`);
  if (log.lateIn > 0) explained.push(`${log.lateIn} late units of earlier periods are adjustments in this one`);
  if (log.notYetProjected > 0) explained.push(`${log.notYetProjected} units logged after the projection's checkpoint ${String(checkpoint)}: not counted yet`);
  if (ledger.pending > 0) explained.push(`${ledger.pending} units pending: sent or being retried, not accepted by Stripe yet`);
  if (ledger.unplanned > 0) explained.push(`${ledger.unplanned} units not reported yet (no Stripe key or customer yet, or not planned yet)`);
  if (ledger.rejected > 0) explained.push(`${ledger.rejected} units rejected by Stripe (see the ledger's reports)`);
  if (line.recordedInLog > ledger.reported) {
    explained.push(`${line.recordedInLog - ledger.reported} units recorded as reported in the log and still pending in the ledger (a stop between the two); the next send is an idempotent replay`);
  } else if (line.recordedInLog < ledger.reported) {
    unexplained.push(`the ledger says ${ledger.reported} units were reported, the log records ${line.recordedInLog}`);
  }
  line.differences = [...unexplained, ...explained];
  line.status = unexplained.length > 0 ? "unexplained" : explained.length > 0 ? "explained" : "balanced";
}

function rulesFrom(settings: BillingSettings | null): BillingRulesResolver {
  if (settings === null) return resolveBillingRules(defaultBillingRules, {});
  return resolveBillingRules(layerBillingRules(defaultBillingRules, settings.rules.defaults), settings.rules.plans);
}
