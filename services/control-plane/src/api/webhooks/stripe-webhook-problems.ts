import type { ProblemType } from "../../errors/problem-catalog.js";

/**
 * The problems POST /webhooks/stripe answers with, besides the catalog's. Stripe retries
 * a delivery that gets a non-2xx answer (for up to three days), so every refusal here is
 * a 400 only when a retry cannot help (the signature will not get better), and a 503 when
 * it can (no signing secret configured yet).
 */
export const stripeWebhookProblems = {
  signatureMissing: { code: "webhook-signature-missing", status: 400, title: "No Stripe-Signature header", retryable: false },
  signatureInvalid: { code: "webhook-signature-invalid", status: 400, title: "The Stripe-Signature does not match the body", retryable: false },
  signatureTooOld: { code: "webhook-signature-too-old", status: 400, title: "The Stripe-Signature timestamp is outside the tolerance", retryable: false },
  notConfigured: { code: "webhooks-not-configured", status: 503, title: "No Stripe webhook signing secret is configured", retryable: true },
} as const satisfies Record<string, ProblemType>;
