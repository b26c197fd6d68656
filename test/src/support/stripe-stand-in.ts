import { createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A STAND-IN for the Stripe API, for tests only: Stripe cannot be reached from here.
 * The real `stripe` SDK talks to it through its host, port and protocol options:
 *
 *   new Stripe("sk_test_…", { host: "127.0.0.1", port: standIn.port, protocol: "http" })
 *
 * It implements the small part of the API Tollgate uses, as Stripe documents it:
 * - bodies are application/x-www-form-urlencoded with bracket notation
 *   (`payload[value]=3`, `items[0][price]=price_…`); answers are JSON, errors are
 *   `{ error: { type, code, message } }` with Stripe's status codes;
 * - a secret key is required (`Authorization: Bearer sk_…`), else 401;
 * - Idempotency-Key on POST: the same key with the same parameters replays the first
 *   response (with `Idempotent-Replayed: true`); the same key with other parameters is a
 *   400 idempotency_error. As on Stripe, a result is saved only once the endpoint started
 *   executing: a request refused by a rate limit or a validation error saves nothing.
 *   (Requests are executed synchronously here, so Stripe's 409 for a key whose first
 *   request is still executing cannot occur);
 * - POST /v1/billing/meter_events: event_name, payload[stripe_customer_id] and a whole
 *   number payload[value] are required; the timestamp must be within the past 35 days
 *   and at most 5 minutes ahead. Meter events are deduplicated by `identifier`: a second
 *   event with a known identifier is answered 200 (Stripe processes meter events
 *   asynchronously and drops the duplicate there) but is not counted again. Stripe
 *   enforces this uniqueness over a rolling period of at least 24 hours; the stand-in
 *   remembers identifiers for its whole life;
 * - customers (create, retrieve) and subscriptions (create with items[n][price] and
 *   metadata, retrieve, update an item's price or the metadata with POST, cancel with
 *   DELETE), with minimal fields. As on Stripe, a canceled subscription can no longer have
 *   its items changed (400);
 * - webhooks: `webhookEvent` builds an Event object as Stripe sends it (for invoices, the
 *   subscription under `parent.subscription_details`, with a snapshot of its metadata, as
 *   API versions since 2025-03-31 do), `deliverWebhook` signs it with an endpoint secret
 *   (`signWebhookPayload`) and POSTs it to a URL.
 *
 * What it is not: no livemode, no list endpoints, no expansion, no asynchronous meter
 * processing or error reports, no invoices, no rate limit of its own (use the faults).
 *
 * For tests: per-meter totals (`meterTotal`), every accepted and duplicate meter event,
 * a request log, and faults: the next N matching requests answer 429 or 500, hang without
 * being processed (past the SDK's timeout), or are processed and then hang (Stripe counted
 * the event, the client never hears back).
 */

export type StripeFault = "rate-limit" | "server-error" | "hang" | "accept-then-hang";

export interface StandInMeterEvent {
  identifier: string;
  eventName: string;
  stripeCustomerId: string;
  value: number;
  timestamp: number;
  created: number;
}

export interface StandInRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  /** A meter event's identifier, when the body carried one. */
  identifier: string | null;
  /** The status answered; null when the request was left hanging. */
  status: number | null;
  fault: StripeFault | null;
  replayed: boolean;
}

interface SavedResult {
  fingerprint: string;
  status: number;
  body: string;
}

export interface Json {
  [key: string]: unknown;
}

const dayS = 86_400;

export class StripeStandIn {
  readonly #server: Server;
  #port = 0;
  readonly #now: () => number;
  readonly #faults: { kind: StripeFault; remaining: number; pathPrefix: string }[] = [];
  readonly #idempotency = new Map<string, SavedResult>();
  readonly #meterEvents = new Map<string, StandInMeterEvent>();
  readonly #customers = new Map<string, Json>();
  readonly #subscriptions = new Map<string, Json>();
  readonly #hanging = new Set<ServerResponse>();

  /** Every request, in arrival order. */
  readonly requests: StandInRequest[] = [];
  /** Meter events that carried an identifier already counted (accepted, not counted). */
  readonly duplicateMeterEvents: StandInMeterEvent[] = [];
  /** Events built by `webhookEvent`, in order (the stand-in's own Event ids). */
  readonly webhookEvents: Json[] = [];

  private constructor(options: { now?: () => number }) {
    this.#now = options.now ?? Date.now;
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(options: { now?: () => number } = {}): Promise<StripeStandIn> {
    const standIn = new StripeStandIn(options);
    await new Promise<void>((resolve, reject) => {
      standIn.#server.once("error", reject);
      standIn.#server.listen(0, "127.0.0.1", () => resolve());
    });
    standIn.#port = (standIn.#server.address() as AddressInfo).port;
    return standIn;
  }

  get port(): number {
    return this.#port;
  }

  /** The SDK options that point it here. */
  get sdkOptions(): { host: string; port: number; protocol: "http" } {
    return { host: "127.0.0.1", port: this.#port, protocol: "http" };
  }

  /** The next `count` requests whose path starts with `pathPrefix` get `kind`. Faults queue up in the order injected. */
  injectFault(kind: StripeFault, count = 1, pathPrefix = "/v1/"): void {
    this.#faults.push({ kind, remaining: count, pathPrefix });
  }

  /** Faults injected and not yet used. */
  get pendingFaults(): number {
    return this.#faults.reduce((sum, fault) => sum + fault.remaining, 0);
  }

  /** Sum of the values of the meter events counted for `eventName` (and one customer, if given). */
  meterTotal(eventName: string, stripeCustomerId?: string): number {
    let total = 0;
    for (const event of this.#meterEvents.values()) {
      if (event.eventName === eventName && (stripeCustomerId === undefined || event.stripeCustomerId === stripeCustomerId)) total += event.value;
    }
    return total;
  }

  /** The meter events counted, in arrival order. */
  meterEvents(): StandInMeterEvent[] {
    return [...this.#meterEvents.values()];
  }

  /** Every customer created, in creation order. */
  customers(): Json[] {
    return [...this.#customers.values()];
  }

  /** Every subscription created, in creation order, in its current state. */
  subscriptions(): Json[] {
    return [...this.#subscriptions.values()];
  }

  /**
   * An Event object as Stripe delivers it to a webhook endpoint. For `invoice.*` with a
   * subscription id, the object is an invoice of that subscription (API 2025-03-31+ shape:
   * `parent.subscription_details.subscription` and its metadata); for
   * `customer.subscription.*`, the subscription as the stand-in holds it.
   */
  webhookEvent(type: string, subject: { subscription?: string; object?: Json } = {}): Json {
    const now = Math.floor(this.#now() / 1_000);
    let object: Json = subject.object ?? {};
    const subscription = subject.subscription === undefined ? undefined : this.#subscriptions.get(subject.subscription);
    if (subject.subscription !== undefined && subscription === undefined) throw new Error(`stand-in: no subscription ${subject.subscription}`);
    if (subscription !== undefined && type.startsWith("invoice.")) {
      object = {
        id: `in_${randomBytes(7).toString("hex")}`,
        object: "invoice",
        customer: subscription.customer,
        status: type === "invoice.paid" ? "paid" : "open",
        parent: { type: "subscription_details", quote_details: null, subscription_details: { subscription: subscription.id, metadata: subscription.metadata } },
        livemode: false,
      };
    } else if (subscription !== undefined) {
      object = structuredClone(subscription);
    }
    const event: Json = {
      id: `evt_${randomBytes(12).toString("hex")}`,
      object: "event",
      api_version: "2026-10-28",
      created: now,
      data: { object },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    };
    this.webhookEvents.push(event);
    return event;
  }

  /** Requests that were left hanging so far. */
  get hungRequests(): number {
    return this.requests.filter((request) => request.status === null).length;
  }

  async close(): Promise<void> {
    for (const res of this.#hanging) res.destroy();
    this.#hanging.clear();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const method = req.method ?? "GET";
    const path = (req.url ?? "/").split("?")[0]!;
    const idempotencyKey = header(req, "idempotency-key");
    const record: StandInRequest = { method, path, idempotencyKey, identifier: null, status: null, fault: null, replayed: false };
    this.requests.push(record);
    const send = (status: number, body: Json, extraHeaders: Record<string, string> = {}): void => {
      record.status = status;
      const text = JSON.stringify(body);
      res.writeHead(status, {
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(text)),
        "request-id": `req_${randomBytes(7).toString("hex")}`,
        ...extraHeaders,
      });
      res.end(text);
    };
    const hang = (): void => {
      this.#hanging.add(res);
      res.on("close", () => this.#hanging.delete(res));
    };

    const authorization = header(req, "authorization") ?? "";
    if (!/^(Bearer|Basic) \S+/.test(authorization)) {
      return send(401, stripeError("invalid_request_error", null, "You did not provide an API key."));
    }

    let params: Json;
    try {
      params = decodeForm(Buffer.concat(chunks).toString("utf8"));
    } catch (error) {
      return send(400, stripeError("invalid_request_error", "parameter_invalid", (error as Error).message));
    }
    if (typeof params.identifier === "string") record.identifier = params.identifier;

    const fault = this.#takeFault(path);
    record.fault = fault;
    if (fault === "rate-limit") {
      return send(429, stripeError("invalid_request_error", "rate_limit", "Request rate limit exceeded. (stand-in fault)"));
    }
    if (fault === "server-error") {
      return send(500, stripeError("api_error", null, "An unknown error occurred (stand-in fault)"));
    }
    if (fault === "hang") return hang();

    const fingerprint = `${method} ${path} ${canonical(params)}`;
    if (method === "POST" && idempotencyKey !== null) {
      const saved = this.#idempotency.get(idempotencyKey);
      if (saved !== undefined) {
        if (saved.fingerprint !== fingerprint) {
          return send(
            400,
            stripeError(
              "idempotency_error",
              null,
              `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
            ),
          );
        }
        record.replayed = true;
        if (fault === "accept-then-hang") return hang();
        record.status = saved.status;
        res.writeHead(saved.status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(saved.body)), "idempotent-replayed": "true" });
        res.end(saved.body);
        return;
      }
    }

    const result = this.#route(method, path, params);
    // As on Stripe: a result is saved once the endpoint started executing (validation errors are not).
    if (method === "POST" && idempotencyKey !== null && result.executed) {
      this.#idempotency.set(idempotencyKey, { fingerprint, status: result.status, body: JSON.stringify(result.body) });
    }
    if (fault === "accept-then-hang") return hang();
    send(result.status, result.body);
  }

  #takeFault(path: string): StripeFault | null {
    const fault = this.#faults.find((candidate) => candidate.remaining > 0 && path.startsWith(candidate.pathPrefix));
    if (fault === undefined) return null;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.#faults.splice(this.#faults.indexOf(fault), 1);
    return fault.kind;
  }

  #route(method: string, path: string, params: Json): { status: number; body: Json; executed: boolean } {
    const invalid = (message: string, param: string | null = null): { status: number; body: Json; executed: boolean } => ({
      status: 400,
      body: stripeError("invalid_request_error", param === null ? null : "parameter_missing", message, param),
      executed: false,
    });
    const missing = (kind: string, id: string): { status: number; body: Json; executed: boolean } => ({
      status: 404,
      body: stripeError("invalid_request_error", "resource_missing", `No such ${kind}: '${id}'`, "id"),
      executed: false,
    });
    const now = Math.floor(this.#now() / 1_000);

    if (method === "POST" && path === "/v1/billing/meter_events") {
      const eventName = params.event_name;
      const payload = (params.payload ?? {}) as Json;
      if (typeof eventName !== "string" || eventName === "") return invalid("Missing required param: event_name.", "event_name");
      const customer = payload.stripe_customer_id;
      if (typeof customer !== "string" || customer === "") return invalid("Missing required param: payload[stripe_customer_id].", "payload[stripe_customer_id]");
      const valueText = payload.value;
      if (typeof valueText !== "string" || !/^-?\d+$/.test(valueText)) return invalid("payload[value] must be a whole number.", "payload[value]");
      const timestamp = params.timestamp === undefined ? now : Number(params.timestamp);
      if (!Number.isInteger(timestamp)) return invalid("Invalid integer: timestamp", "timestamp");
      if (timestamp < now - 35 * dayS || timestamp > now + 300) {
        return invalid("Timestamp must be within the past 35 calendar days and no more than 5 minutes in the future.", "timestamp");
      }
      const identifier = typeof params.identifier === "string" && params.identifier !== "" ? params.identifier : `stand_in_${randomBytes(12).toString("hex")}`;
      if (identifier.length > 100) return invalid("identifier is longer than 100 characters.", "identifier");
      const event: StandInMeterEvent = { identifier, eventName, stripeCustomerId: customer, value: Number(valueText), timestamp, created: now };
      if (this.#meterEvents.has(identifier)) this.duplicateMeterEvents.push(event);
      else this.#meterEvents.set(identifier, event);
      return {
        status: 200,
        body: { object: "billing.meter_event", created: now, event_name: eventName, identifier, livemode: false, payload: { stripe_customer_id: customer, value: valueText }, timestamp },
        executed: true,
      };
    }

    if (method === "POST" && path === "/v1/customers") {
      const id = `cus_${randomBytes(7).toString("hex")}`;
      const customer: Json = {
        id,
        object: "customer",
        created: now,
        email: params.email ?? null,
        name: params.name ?? null,
        metadata: params.metadata ?? {},
        livemode: false,
      };
      this.#customers.set(id, customer);
      return { status: 200, body: customer, executed: true };
    }
    const customerMatch = /^\/v1\/customers\/([^/]+)$/.exec(path);
    if (method === "GET" && customerMatch) {
      const customer = this.#customers.get(customerMatch[1]!);
      return customer === undefined ? missing("customer", customerMatch[1]!) : { status: 200, body: customer, executed: true };
    }

    if (method === "POST" && path === "/v1/subscriptions") {
      const customer = params.customer;
      if (typeof customer !== "string") return invalid("Missing required param: customer.", "customer");
      if (!this.#customers.has(customer)) return missing("customer", customer);
      const items = Array.isArray(params.items) ? (params.items as Json[]) : [];
      if (items.length === 0 || items.some((item) => typeof item.price !== "string")) return invalid("Missing required param: items[0][price].", "items");
      const id = `sub_${randomBytes(7).toString("hex")}`;
      const subscription: Json = {
        id,
        object: "subscription",
        created: now,
        customer,
        status: "active",
        billing_cycle_anchor: params.billing_cycle_anchor === undefined ? now : Number(params.billing_cycle_anchor),
        canceled_at: null,
        metadata: params.metadata ?? {},
        items: {
          object: "list",
          data: items.map((item) => ({ id: `si_${randomBytes(7).toString("hex")}`, object: "subscription_item", price: { id: item.price, object: "price" }, subscription: id })),
        },
        livemode: false,
      };
      this.#subscriptions.set(id, subscription);
      return { status: 200, body: subscription, executed: true };
    }
    const subscriptionMatch = /^\/v1\/subscriptions\/([^/]+)$/.exec(path);
    if (subscriptionMatch && method === "POST") {
      const subscription = this.#subscriptions.get(subscriptionMatch[1]!);
      if (subscription === undefined) return missing("subscription", subscriptionMatch[1]!);
      const items = Array.isArray(params.items) ? (params.items as Json[]) : [];
      if (subscription.status === "canceled" && items.length > 0) {
        return invalid("A canceled subscription can only update its cancellation_details and metadata.");
      }
      const current = (subscription.items as { data: Json[] }).data;
      for (const item of items) {
        const existing = current.find((candidate) => candidate.id === item.id);
        if (item.id !== undefined && existing === undefined) return missing("subscription_item", typeof item.id === "string" ? item.id : JSON.stringify(item.id));
        if (typeof item.price !== "string") return invalid("Missing required param: items[0][price].", "items");
        if (existing !== undefined) existing.price = { id: item.price, object: "price" };
        else current.push({ id: `si_${randomBytes(7).toString("hex")}`, object: "subscription_item", price: { id: item.price, object: "price" }, subscription: subscription.id });
      }
      if (params.metadata !== undefined) subscription.metadata = { ...(subscription.metadata as Json), ...(params.metadata as Json) };
      return { status: 200, body: subscription, executed: true };
    }
    if (subscriptionMatch && (method === "GET" || method === "DELETE")) {
      const subscription = this.#subscriptions.get(subscriptionMatch[1]!);
      if (subscription === undefined) return missing("subscription", subscriptionMatch[1]!);
      if (method === "DELETE") {
        subscription.status = "canceled";
        subscription.canceled_at = now;
      }
      return { status: 200, body: subscription, executed: true };
    }

    return { status: 404, body: stripeError("invalid_request_error", null, `Unrecognized request URL (${method}: ${path}). (stand-in: not implemented)`), executed: false };
  }
}

/**
 * The Stripe-Signature header Stripe sends with a webhook: `t=<unix seconds>,v1=<hex
 * HMAC-SHA256 of "<t>.<payload>" under the endpoint's signing secret>`. The SDK's
 * stripe.webhooks.constructEvent accepts it, and rejects it when the payload changed,
 * the secret differs, or `t` is older than its tolerance (300 s by default).
 */
export function signWebhookPayload(payload: string, secret: string, timestampSeconds: number = Math.floor(Date.now() / 1_000)): string {
  const signature = createHmac("sha256", secret).update(`${timestampSeconds}.${payload}`, "utf8").digest("hex");
  return `t=${timestampSeconds},v1=${signature}`;
}

export interface WebhookDelivery {
  status: number;
  body: unknown;
  /** The exact bytes sent, for a replay. */
  payload: string;
  signature: string;
}

/**
 * Delivers an Event to a webhook endpoint as Stripe does: a POST of the JSON body with
 * `Content-Type: application/json` and a `Stripe-Signature` under the endpoint's secret.
 * `payload` and `signature` default to the event's JSON and a signature made now; pass
 * others to forge, alter or replay a delivery.
 */
export async function deliverWebhook(
  url: string,
  event: Json,
  secret: string,
  options: { payload?: string; signature?: string | null; timestampSeconds?: number } = {},
): Promise<WebhookDelivery> {
  const payload = options.payload ?? JSON.stringify(event);
  const signature = options.signature === undefined ? signWebhookPayload(payload, secret, options.timestampSeconds) : options.signature;
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8", "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)", ...(signature === null ? {} : { "stripe-signature": signature }) },
    body: payload,
  });
  const text = await response.text();
  return { status: response.status, body: text === "" ? null : (JSON.parse(text) as unknown), payload, signature: signature ?? "" };
}

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return typeof value === "string" ? value : null;
}

function stripeError(type: string, code: string | null, message: string, param: string | null = null): Json {
  return { error: { type, ...(code === null ? {} : { code }), message, ...(param === null ? {} : { param }) } };
}

/**
 * Decodes Stripe's form encoding: `a=1&b[c]=2&d[0][e]=3` → { a: "1", b: { c: "2" }, d: [{ e: "3" }] }.
 * Objects whose keys are all indexes become arrays; every leaf stays a string, as Stripe receives it.
 */
export function decodeForm(body: string): Json {
  const root: Json = {};
  for (const [name, value] of new URLSearchParams(body)) {
    const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(name);
    if (!match) throw new Error(`Invalid parameter name: ${name}`);
    const path = [match[1]!, ...[...match[2]!.matchAll(/\[([^[\]]*)\]/g)].map((part) => part[1]!)];
    let node: Json = root;
    for (const [index, key] of path.entries()) {
      if (index === path.length - 1) {
        node[key] = value;
      } else {
        const next = node[key];
        if (typeof next !== "object" || next === null) node[key] = {};
        node = node[key] as Json;
      }
    }
  }
  return arrays(root) as Json;
}

function arrays(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value as Json).map(([key, inner]) => [key, arrays(inner)] as const);
  if (entries.length > 0 && entries.every(([key]) => /^\d+$/.test(key))) {
    return entries.sort(([a], [b]) => Number(a) - Number(b)).map(([, inner]) => inner);
  }
  return Object.fromEntries(entries);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Json)[key])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}
