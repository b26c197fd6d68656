import type { BillingRecordsService } from "../../application/billing-records-service.js";
import type { ControlPlaneServices } from "../../application/control-plane-services.js";
import { defineEndpoint, type AnyEndpoint } from "../endpoint.js";
import { idParams } from "../schemas/common-schemas.js";
import { readResponses } from "../standard-responses.js";
import {
  InvoicePreviewList,
  InvoicePreviewSchema,
  ReceiptPageSchema,
  ReceiptQuery,
  ReconciliationQuery,
  ReconciliationSchema,
  ReRateBody,
  ReRatingSchema,
} from "./billing-schemas.js";
import { z } from "zod";

/** Answers with positions as strings and instants as ISO text: bigint does not serialize, and finance reads dates. */
function receiptBody(page: ReturnType<BillingRecordsService["receipt"]>) {
  return { ...page, items: page.items.map((item) => ({ ...item, position: String(item.position), startedAt: new Date(item.startedAt).toISOString() })) };
}

const billingResponses = {
  ...readResponses,
  409: { description: "invalid-state: the billing projector's store does not exist yet, or has another schema version" },
};

/**
 * Billing views for admins (any subscription) and consumers (their own): the invoice
 * preview of the current period, the requests behind each line, the month's
 * reconciliation, and re-rating as a dry run. All read billing.db and the log; none writes.
 */
export function billingEndpoints({ subscriptions, plans }: ControlPlaneServices, billing: BillingRecordsService): AnyEndpoint[] {
  const subscriptionParams = idParams("subscriptionId");
  return [
    defineEndpoint({
      method: "get",
      path: "/admin/subscriptions/:subscriptionId/invoice-preview",
      operationId: "getInvoicePreview",
      summary: "The invoice of the subscription's current period as our records rate it: flat fee, included units, overage or tiers, late adjustments",
      tag: "billing",
      access: "admin:read",
      params: subscriptionParams,
      responses: { 200: { description: "The preview", schema: InvoicePreviewSchema }, ...billingResponses },
      handle: async (request) => {
        const subscription = await subscriptions.get(request.params.subscriptionId);
        return { status: 200, body: billing.preview(subscription, await plans.get(subscription.planId)) };
      },
    }),
    defineEndpoint({
      method: "get",
      path: "/admin/subscriptions/:subscriptionId/invoice-preview/lines/:lineId/requests",
      operationId: "getInvoiceLineRequests",
      summary: "The receipt of one invoice-preview line: the billable requests behind it, in log order, paginated",
      tag: "billing",
      access: "admin:read",
      params: z.object({ subscriptionId: subscriptionParams.shape.subscriptionId, lineId: z.string().min(1).max(300) }),
      query: ReceiptQuery,
      responses: { 200: { description: "One page of requests", schema: ReceiptPageSchema }, ...billingResponses },
      handle: async (request) => {
        const subscription = await subscriptions.get(request.params.subscriptionId);
        const page = billing.receipt(subscription, await plans.get(subscription.planId), request.params.lineId, Number(request.query.cursor), request.query.limit);
        return { status: 200, body: receiptBody(page) };
      },
    }),
    defineEndpoint({
      method: "get",
      path: "/admin/billing/reconciliation",
      operationId: "getBillingReconciliation",
      summary: "The month's reconciliation: billable units recounted from the log, our usage and ledger, what Stripe accepted, and why any differ",
      tag: "billing",
      access: "admin:read",
      query: ReconciliationQuery,
      responses: { 200: { description: "The report", schema: ReconciliationSchema }, ...billingResponses },
      handle: async (request) => ({ status: 200, body: await billing.reconcile(request.query.period, request.query.subscriptionId) }),
    }),
    defineEndpoint({
      method: "post",
      path: "/admin/billing/rerate",
      operationId: "reRateBillingMonth",
      summary: "Re-rate a past month with corrected prices: a dry run that shows the difference and changes nothing",
      tag: "billing",
      // It writes nothing: a read token may run it.
      access: "admin:read",
      body: ReRateBody,
      responses: { 200: { description: "Original and corrected ratings", schema: ReRatingSchema }, ...billingResponses },
      handle: (request) => Promise.resolve({ status: 200, body: billing.reRate(request.body.period, request.body.pricing, request.body.subscriptionId) }),
    }),
    defineEndpoint({
      method: "get",
      path: "/consumer/invoice-preview",
      operationId: "getMyInvoicePreview",
      summary: "The invoice previews of the calling consumer's active subscriptions, for their current periods",
      tag: "self-service",
      access: "consumer",
      responses: { 200: { description: "One preview per subscription", schema: InvoicePreviewList }, ...billingResponses },
      handle: async (request) => {
        const mine = subscriptions.list({ consumerId: request.consumerId! }).filter((subscription) => subscription.status !== "cancelled");
        const items = [];
        for (const subscription of mine) items.push(billing.preview(subscription, await plans.get(subscription.planId)));
        return { status: 200, body: { items } };
      },
    }),
  ];
}
