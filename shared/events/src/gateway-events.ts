import { z } from "zod";

/**
 * What a gateway records about itself, beside its request events, on its own stream
 * (`gateway-<gatewayId>`): rare state changes an operator wants in the log next to the
 * traffic they explain.
 */
export const circuitStates = ["closed", "open", "half-open"] as const;
export type CircuitState = (typeof circuitStates)[number];

export const CircuitBreakerStateChanged = z.object({
  type: z.literal("CircuitBreakerStateChanged"),
  version: z.literal(1),
  data: z.object({
    gatewayId: z.string().min(1).max(200),
    upstream: z.string().min(1).max(200).describe("The upstream's name in the gateway config"),
    target: z.string().min(1).max(2_000).describe("The target's origin (scheme, host, port): never credentials"),
    from: z.enum(circuitStates),
    to: z.enum(circuitStates),
    at: z.iso.datetime({ offset: true }),
    /** Times this target's breaker opened since the gateway started, this change included. */
    opens: z.number().int().min(0),
  }),
});

export const GatewayEvent = z.discriminatedUnion("type", [CircuitBreakerStateChanged]);

export type CircuitBreakerStateChanged = z.infer<typeof CircuitBreakerStateChanged>;
export type GatewayEvent = z.infer<typeof GatewayEvent>;
