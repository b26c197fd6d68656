import Stripe from "stripe";

/** One Stripe Billing Meter Event, as the reporter sends it. */
export interface MeterEventRequest {
  readonly eventName: string;
  readonly stripeCustomerId: string;
  readonly value: number;
  /** Stripe deduplicates meter events by identifier. */
  readonly identifier: string;
  readonly timestampSeconds: number;
}

export type MeterEventFailureKind = "rate-limited" | "server-error" | "conflict" | "unauthorized" | "timeout" | "connection" | "rejected";

/**
 * A meter event Stripe did not accept. `retryable`: 429, 5xx, 409 (another request with
 * the same idempotency key still in progress), 401/403 (a bad key), timeouts and
 * connection errors; the same report is sent again after a backoff. Otherwise (another
 * 4xx: an unknown customer, a timestamp out of range, an idempotency conflict) the report
 * is rejected for good and kept in the ledger with the reason.
 */
export class MeterEventError extends Error {
  constructor(
    readonly kind: MeterEventFailureKind,
    readonly statusCode: number | null,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "MeterEventError";
  }

  get retryable(): boolean {
    return this.kind !== "rejected";
  }
}

/** The port the reporter sends through: Stripe in production, a fake in unit tests. */
export interface MeterEventSender {
  /** Resolves once Stripe accepted the event; rejects with a MeterEventError. */
  send(event: MeterEventRequest, idempotencyKey: string): Promise<void>;
}

export interface StripeClientOptions {
  secretKey: string;
  /** Stripe's API by default; the tests' stand-in sets host, port and protocol. */
  host: string | null;
  port: number | null;
  protocol: "http" | "https" | null;
  timeoutMs: number;
}

export function createStripeClient(options: StripeClientOptions): Stripe {
  return new Stripe(options.secretKey, {
    ...(options.host === null ? {} : { host: options.host }),
    ...(options.port === null ? {} : { port: options.port }),
    ...(options.protocol === null ? {} : { protocol: options.protocol }),
    timeout: options.timeoutMs,
    // The reporter retries with its own backoff, persisting each attempt; the SDK's own
    // retries would hide 429s and 5xx from it.
    maxNetworkRetries: 0,
    telemetry: false,
  });
}

/** Sends meter events with the stripe SDK (POST /v1/billing/meter_events, form-encoded, with an Idempotency-Key). */
export function stripeMeterEventSender(stripe: Stripe): MeterEventSender {
  return {
    async send(event, idempotencyKey) {
      try {
        await stripe.billing.meterEvents.create(
          {
            event_name: event.eventName,
            payload: { stripe_customer_id: event.stripeCustomerId, value: String(event.value) },
            identifier: event.identifier,
            timestamp: event.timestampSeconds,
          },
          { idempotencyKey },
        );
      } catch (error) {
        throw classifyStripeError(error);
      }
    },
  };
}

/** Maps an error thrown by the stripe SDK to what the reporter does next. */
export function classifyStripeError(error: unknown): MeterEventError {
  const { type, statusCode, message } = (error ?? {}) as { type?: unknown; statusCode?: unknown; message?: unknown };
  const status = typeof statusCode === "number" ? statusCode : null;
  const text = typeof message === "string" ? message : String(error);
  const make = (kind: MeterEventFailureKind): MeterEventError => new MeterEventError(kind, status, text, { cause: error });
  if (type === "StripeRateLimitError" || status === 429) return make("rate-limited");
  if (type === "StripeConnectionError") return make(/timeout|timed out/i.test(text) ? "timeout" : "connection");
  if (type === "StripeAPIError" || (status !== null && status >= 500)) return make("server-error");
  if (status === 409) return make("conflict");
  // A wrong or revoked key is the deployment's problem, not the report's: keep it pending
  // (retried at the maximum backoff) rather than rejecting every report for good.
  if (status === 401 || status === 403) return make("unauthorized");
  if (status !== null && status >= 400) return make("rejected");
  // Anything else (no status at all) did not get an answer from Stripe: try again.
  return make("connection");
}
