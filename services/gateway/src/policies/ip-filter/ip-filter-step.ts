import { problems } from "../../errors/problem-catalog.js";
import { PolicyRejection, type PolicyExchange, type PolicyStep } from "../policy-step.js";
import type { IpFilter } from "./ip-filter.js";

/**
 * The IP allow/deny lists as the chain's first step, synchronous. The address is the
 * exchange's `clientIp`: the socket's peer, or what a trusted proxy reported
 * (trustProxy); the step never reads X-Forwarded-For itself, so a client cannot
 * talk its way past a deny list unless the peer is a proxy the config trusts.
 */
export function createIpFilterStep(filter: IpFilter): PolicyStep {
  const rejections = new Map<string, PolicyRejection>();
  return {
    async: false,
    run(exchange: PolicyExchange): PolicyRejection | null {
      const result = filter.check(exchange.clientIp);
      if (result.ok) return null;
      let rejection = rejections.get(result.reason);
      if (rejection === undefined) {
        rejection = new PolicyRejection("ip", problems.addressNotAllowed, result.reason);
        rejections.set(result.reason, rejection);
      }
      return rejection;
    },
  };
}
