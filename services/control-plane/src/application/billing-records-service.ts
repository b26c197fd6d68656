import {
  billingPeriod,
  BillingRecordsUnavailableError,
  previewInvoice,
  reconcileMonth,
  reRateMonth,
  SqliteBillingRecords,
  type InvoiceLine,
  type InvoicePreview,
  type ReceiptRequest,
  type ReconciliationReport,
  type ReRating,
} from "@tollgate/billing-projector";
import type { PlanPricing } from "@tollgate/events";
import type { EventStore } from "@tollgate/eventstore";
import type { Logger } from "@tollgate/observability";
import { ControlPlaneError } from "../errors/control-plane-error.js";
import { problems } from "../errors/problem-catalog.js";
import type { Clock } from "../runtime/clock.js";
import type { PlanView, SubscriptionView } from "./entity-views.js";

export interface BillingRecordsServiceOptions {
  /** The billing projector's store.file (billing.db), opened read-only. */
  file: string;
  /** The billing projector's name: its checkpoint is stored under it. */
  projectorName: string;
  /** The log, recounted by the reconciliation. */
  store: EventStore;
  clock: Clock;
  logger?: Logger;
}

/** An invoice preview as the API answers it: the rated lines, and how far the log is counted. */
export interface InvoicePreviewView extends InvoicePreview {
  planId: string;
  /** The billing projector's checkpoint: the preview counts the log up to this position; null before its first batch. */
  countedThroughPosition: string | null;
}

export interface ReceiptPage {
  subscriptionId: string;
  lineId: string;
  periodStart: number;
  units: number;
  items: ReceiptRequest[];
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

/**
 * The billing views of the control plane: invoice previews, receipts, the reconciliation
 * and re-rating, all read from the billing projector's own file (billing.db), opened
 * read-only, as the quota usage is read from the quota projector's. The control plane
 * never writes it, and never calls Stripe for these.
 */
export class BillingRecordsService {
  readonly #options: BillingRecordsServiceOptions;
  #records: SqliteBillingRecords | null = null;

  constructor(options: BillingRecordsServiceOptions) {
    this.#options = options;
  }

  /** The subscription's current period (at the clock's now), rated with the pricing in force in it. */
  preview(subscription: SubscriptionView, plan: PlanView | null): InvoicePreviewView {
    const records = this.#open();
    return records.snapshot((r) => {
      const at = this.#options.clock.now().getTime();
      const anchor = subscription.billingAnchor === null ? null : Date.parse(subscription.billingAnchor);
      const period = billingPeriod(at, anchor);
      const planId = r.subscription(subscription.id)?.planId ?? subscription.planId;
      const terms = r.plan(planId);
      const fromView = plan?.id === planId ? plan : null;
      const currentPricing = terms?.pricing ?? fromView?.pricing ?? null;
      const currentMeterEventName = terms?.meterEventName ?? fromView?.price.stripeMeterEventName ?? null;
      const preview = previewInvoice({ subscriptionId: subscription.id, period, usage: r.usage(subscription.id, period.start), currentPricing, currentMeterEventName });
      const checkpoint = r.checkpoint();
      return { ...preview, planId, countedThroughPosition: checkpoint === null ? null : String(checkpoint) };
    });
  }

  /** The requests behind one line of the current preview, in log order, `limit` at a time. */
  receipt(subscription: SubscriptionView, plan: PlanView | null, lineId: string, cursor: number, limit: number): ReceiptPage {
    const preview = this.preview(subscription, plan);
    const line: InvoiceLine | undefined = preview.lines.find((candidate) => candidate.lineId === lineId);
    if (line === undefined) throw new ControlPlaneError(problems.notFound, `the invoice preview of ${subscription.id} has no line ${lineId}`);
    if (line.receipt === null) return { subscriptionId: subscription.id, lineId, periodStart: preview.periodStart, units: 0, items: [], nextCursor: null };
    // The cursor counts units: a session billed per message may hold many, and one that
    // straddles a page boundary is listed on both pages with its share on each.
    const page = this.#open().receiptPage(
      { subscriptionId: subscription.id, meterEventName: line.meterEventName, periodStart: preview.periodStart, originPeriodStart: line.receipt.originPeriodStart },
      { firstUnit: line.receipt.firstUnit, units: line.units },
      cursor,
      limit,
    );
    return { subscriptionId: subscription.id, lineId, periodStart: preview.periodStart, units: line.units, items: page.items, nextCursor: page.nextCursor === null ? null : String(page.nextCursor) };
  }

  reconcile(month: string, subscriptionId?: string): Promise<ReconciliationReport> {
    return reconcileMonth({ eventStore: this.#options.store, records: this.#open(), month, ...(subscriptionId === undefined ? {} : { subscriptionId }) });
  }

  reRate(month: string, pricing: PlanPricing, subscriptionId?: string): ReRating {
    return reRateMonth({ records: this.#open(), month, pricing, ...(subscriptionId === undefined ? {} : { subscriptionId }) });
  }

  close(): void {
    this.#records?.close();
    this.#records = null;
  }

  #open(): SqliteBillingRecords {
    if (this.#records !== null) return this.#records;
    try {
      this.#records = SqliteBillingRecords.open({ file: this.#options.file, name: this.#options.projectorName });
      return this.#records;
    } catch (error) {
      if (!(error instanceof BillingRecordsUnavailableError)) throw error;
      this.#options.logger?.warn({ err: error }, "billing records cannot be read");
      throw new ControlPlaneError(problems.invalidState, `${error.message}; billing views need the billing projector's store`);
    }
  }
}
