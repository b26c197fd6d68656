import { EntityId, PlanPricing } from "@tollgate/events";
import { z } from "zod";

const epochMs = z.number().int().describe("Epoch milliseconds, UTC");
const minor = z.number().describe("Minor units of the currency (cents); a line may be fractional, the total is rounded once");

export const InvoiceLineSchema = z.object({
  lineId: z.string().describe("Stable within the period: <meter>/<kind>, <meter>/tier-<n>, or <meter>/adjustment/<start of the late usage's period>"),
  kind: z.enum(["flat-fee", "included", "overage", "tier", "adjustment"]),
  meterEventName: z.string(),
  description: z.string(),
  units: z.number().int(),
  amountMinor: minor,
  receipt: z
    .object({ originPeriodStart: epochMs, firstUnit: z.number().int().describe("The line covers the firstUnit-th to (firstUnit + units − 1)-th billable unit, in log order (a request is one unit; a WebSocket session may be many)") })
    .nullable()
    .describe("Where its requests are: GET …/invoice-preview/lines/{lineId}/requests; null for the flat fee"),
  adjustsPeriodStart: epochMs.nullable().describe("For an adjustment: the closed period its late requests happened in"),
});

export const InvoicePreviewSchema = z.object({
  subscriptionId: EntityId,
  planId: EntityId,
  periodStart: epochMs,
  periodEnd: epochMs,
  currency: z.string().nullable().describe("null: the plan has no pricing (usage is metered, not rated)"),
  units: z.number().int().describe("Billable units billed in the period: its own and the late ones adjusted into it"),
  adjustmentUnits: z.number().int(),
  lines: z.array(InvoiceLineSchema),
  totalMinor: z.number().int().nullable(),
  countedThroughPosition: z.string().nullable().describe("The billing projector's checkpoint: the log is counted up to this position"),
});

export const InvoicePreviewList = z.object({ items: z.array(InvoicePreviewSchema) });

export const ReceiptPageSchema = z.object({
  subscriptionId: EntityId,
  lineId: z.string(),
  periodStart: epochMs,
  units: z.number().int().describe("Billable units behind the line in all"),
  items: z.array(
    z.object({
      requestId: z.string(),
      position: z.string().describe("The request event's log position"),
      startedAt: z.string(),
      status: z.number().int(),
      outcome: z.string().describe("RequestCompleted, RequestRejected or RequestFailed"),
      units: z.number().int().describe("The units of this request on this line (a session straddling two lines or pages has a share on each)"),
      requestUnits: z.number().int().describe("All the units this request billed"),
    }),
  ),
  nextCursor: z.string().nullable(),
});

export const ReceiptQuery = z.strictObject({
  cursor: z.string().regex(/^\d{1,9}$/).default("0").describe("From a previous page's nextCursor (counted in units)"),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
});

export const BillingMonth = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, "a billing month, YYYY-MM").describe("The billing month: each subscription's period that starts in it");

export const ReconciliationQuery = z.strictObject({
  period: BillingMonth,
  subscriptionId: EntityId.optional(),
});

const ledgerUnits = z.object({ reported: z.number().int(), pending: z.number().int(), rejected: z.number().int(), unplanned: z.number().int() });

export const ReconciliationSchema = z.object({
  month: z.string(),
  checkpoint: z.string().nullable(),
  head: z.string(),
  status: z.enum(["balanced", "explained", "unexplained"]),
  totals: ledgerUnits.extend({ billable: z.number().int(), onTime: z.number().int(), lateOut: z.number().int(), lateIn: z.number().int(), billedInPeriod: z.number().int() }),
  lines: z.array(
    z.object({
      subscriptionId: EntityId,
      meterEventName: z.string(),
      periodStart: epochMs,
      periodEnd: epochMs,
      log: z.object({ onTime: z.number().int(), lateOut: z.number().int(), lateIn: z.number().int(), notYetProjected: z.number().int() }),
      projection: z.object({ units: z.number().int(), adjustedOut: z.number().int(), adjustedIn: z.number().int() }),
      ledger: ledgerUnits,
      recordedInLog: z.number().int(),
      status: z.enum(["balanced", "explained", "unexplained"]),
      differences: z.array(z.string()),
    }),
  ),
});

export const ReRateBody = z.strictObject({
  period: BillingMonth,
  subscriptionId: EntityId.optional(),
  pricing: PlanPricing.describe("The corrected pricing to rate the month with"),
});

export const ReRatingSchema = z.object({
  month: z.string(),
  dryRun: z.literal(true),
  subscriptions: z.array(
    z.object({
      subscriptionId: EntityId,
      periodStart: epochMs,
      periodEnd: epochMs,
      units: z.number().int(),
      original: InvoicePreviewSchema.omit({ planId: true, countedThroughPosition: true }).nullable(),
      corrected: InvoicePreviewSchema.omit({ planId: true, countedThroughPosition: true }),
      differenceMinor: z.number().int().nullable(),
    }),
  ),
  totals: z.object({ originalMinor: z.number().int(), correctedMinor: z.number().int(), differenceMinor: z.number().int() }),
});
