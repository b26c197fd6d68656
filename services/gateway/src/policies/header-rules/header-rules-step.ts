import { problems } from "../../errors/problem-catalog.js";
import { PolicyRejection, type PolicyExchange, type PolicyStep } from "../policy-step.js";
import type { HeaderRules } from "./header-rules.js";

/**
 * Required and forbidden headers as a chain step, synchronous, checked against the
 * headers the client sent (before the gateway removed hop-by-hop and identity
 * headers: a forbidden header is refused, never silently stripped). The reason names
 * the header, never its value.
 */
export function createHeaderRulesStep(rules: HeaderRules): PolicyStep {
  return {
    async: false,
    run(exchange: PolicyExchange): PolicyRejection | null {
      const result = rules.check(exchange.req.headers);
      return result.ok ? null : new PolicyRejection("headers", problems.invalidHeader, result.reason);
    },
  };
}
