import express, { type Express, type NextFunction, type Request, type Response } from "express";
import type { StripeWebhookReceiver } from "./stripe-webhook-receiver.js";

/** The path Stripe is configured to deliver to. */
export const stripeWebhooksPath = "/webhooks/stripe";

/**
 * Mounts POST /webhooks/stripe. It must be mounted before any JSON body parser: the
 * signature covers the exact bytes Stripe sent, so the body is kept raw (express.raw, for
 * this route only) and parsed by the SDK after the check. No admin token: the signature
 * is the authentication.
 */
export function mountStripeWebhooks(app: Express, receiver: StripeWebhookReceiver): void {
  app.post(stripeWebhooksPath, express.raw({ type: () => true, limit: "1mb" }), (req: Request, res: Response, next: NextFunction) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const signature = req.headers["stripe-signature"];
    res.locals.actorId = "stripe-webhooks";
    receiver
      .receive(body, typeof signature === "string" ? signature : undefined, res.locals.requestId as string)
      .then((answer) => {
        res.status(200).json(answer);
      })
      .catch(next);
  });
}
