import { createHash } from "node:crypto";
import type { GraphqlOperation } from "@tollgate/events";
import { problems } from "../../errors/problem-catalog.js";
import { readRequestBody } from "../hmac/read-request-body.js";
import { PolicyRejection, type PolicyExchange, type PolicyStep } from "../policy-step.js";
import { analyseOperation, GraphqlDocumentError, type AnalysedOperation } from "./graphql-operation-analysis.js";
import type { RouteGraphqlConfig } from "./graphql-policy-config.js";
import { GraphqlRequestError, readJsonGraphqlRequest, readQueryStringGraphqlRequest, type GraphqlRequest } from "./graphql-request.js";

/**
 * Where the step records the operation it found. The gateway's Exchange has this
 * field and writes it into the request's event (`graphql`), whatever the outcome, so a
 * refused query is recorded with the operation it named.
 */
export interface GraphqlExchange {
  graphql: GraphqlOperation | null;
}

/**
 * Set (to "websocket") only by the gateway's WebSocket session, never from anything a
 * client sends: its handshake carries no query, and the GraphQL operations that flow
 * inside the session (graphql-ws subscriptions) are messages the policy does not read.
 */
interface ProtocolMarked {
  readonly protocol?: string;
}

/**
 * The GraphQL-aware policy of a route. It reads the query (the POST body, up to
 * `maxBodyBytes`, kept in `bodyOverride` for the upstream; or GET's `?query=`), parses
 * it with graphql-js, records the operation's name and type, and refuses with 400
 * (stage "validation") before the upstream: a query over the depth, alias or
 * complexity limit; introspection where it is blocked for the caller's plan; a query
 * that the persisted-query allow-list does not hold. It runs after authorization (the
 * plan is known) and before the rate limits and the quota, so a refused query
 * consumes no allowance.
 *
 * Only the document is checked, never the schema: the upstream still validates the
 * query against its schema and answers its own errors.
 */
export function createGraphqlStep(config: RouteGraphqlConfig): PolicyStep {
  const allowList = new Set(config.persistedQueries?.allowList ?? []);
  const onlyAllowListed = config.persistedQueries?.onlyAllowListed ?? false;
  const blockedPlans = typeof config.blockIntrospection === "object" ? new Set(config.blockIntrospection.plans) : null;
  const stopAt = { depth: config.maxDepth, aliases: config.maxAliases, ...(config.maxComplexity === undefined ? {} : { complexity: config.maxComplexity }) };
  const bad = (reason: string): PolicyRejection => new PolicyRejection("validation", problems.graphqlBadRequest, reason);

  function introspectionBlocked(planId: string | null): boolean {
    if (config.blockIntrospection === true) return true;
    return blockedPlans !== null && planId !== null && blockedPlans.has(planId);
  }

  function check(exchange: PolicyExchange, request: GraphqlRequest, viaGet: boolean): PolicyRejection | null {
    if (request.query === null) {
      if (request.persistedHash === null) return bad("no GraphQL query in the request (`query`, or extensions.persistedQuery.sha256Hash)");
      // A hash-only request runs a document the upstream stored: with an allow-list, only a listed one.
      if (allowList.size > 0 && !allowList.has(request.persistedHash)) {
        return new PolicyRejection("validation", problems.graphqlNotAllowListed, "the persisted query hash is not on the route's allow-list");
      }
      if (onlyAllowListed && allowList.size === 0) return new PolicyRejection("validation", problems.graphqlNotAllowListed, "the route's allow-list is empty");
      return null;
    }
    if (request.persistedHash !== null || onlyAllowListed) {
      const digest = createHash("sha256").update(request.query, "utf8").digest("hex");
      if (request.persistedHash !== null && request.persistedHash !== digest) return bad("extensions.persistedQuery.sha256Hash is not the SHA-256 of the query");
      if (onlyAllowListed && !allowList.has(digest)) {
        return new PolicyRejection("validation", problems.graphqlNotAllowListed, "the query is not on the route's persisted-query allow-list");
      }
    }
    let operation: AnalysedOperation;
    try {
      operation = analyseOperation(request.query, request.operationName, { maxTokens: config.maxTokens, stopAt });
    } catch (error) {
      if (error instanceof GraphqlDocumentError) return bad(error.message);
      throw error;
    }
    (exchange as PolicyExchange & GraphqlExchange).graphql = { operationName: operation.operationName?.slice(0, 200) ?? null, operationType: operation.operationType };
    if (viaGet && operation.operationType !== "query") return bad(`a ${operation.operationType} is accepted over POST only (GraphQL over HTTP)`);
    if (operation.depth > config.maxDepth) return overLimit(`the query is deeper than ${config.maxDepth} levels`);
    if (operation.aliases > config.maxAliases) return overLimit(`the query has more than ${config.maxAliases} aliases`);
    if (config.maxComplexity !== undefined && operation.complexity > config.maxComplexity) return overLimit(`the query selects more than ${config.maxComplexity} fields`);
    if (operation.introspection && introspectionBlocked(exchange.planId)) {
      return new PolicyRejection("validation", problems.graphqlIntrospectionBlocked, "introspection (__schema, __type) is not allowed for this caller");
    }
    return null;
  }

  function readAndCheck(exchange: PolicyExchange, body: Buffer): PolicyRejection | null {
    let request: GraphqlRequest;
    try {
      request = readJsonGraphqlRequest(body);
    } catch (error) {
      if (error instanceof GraphqlRequestError) return bad(error.message);
      throw error;
    }
    return check(exchange, request, false);
  }

  return {
    async: true,
    run(exchange) {
      if ((exchange as PolicyExchange & ProtocolMarked).protocol === "websocket") return null;
      const method = exchange.method;
      if (method === "GET" || method === "HEAD") {
        try {
          return check(exchange, readQueryStringGraphqlRequest(exchange.query), true);
        } catch (error) {
          if (error instanceof GraphqlRequestError) return bad(error.message);
          throw error;
        }
      }
      // A CORS preflight carries no query.
      if (method === "OPTIONS") return null;
      if (method !== "POST") return bad(`GraphQL requests are GET or POST, not ${method}`);
      const contentType = (exchange.req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
      if (contentType !== "application/json") return bad("a GraphQL POST must be application/json");
      // An earlier policy (an HMAC body digest) may have read the body already.
      if (exchange.bodyOverride !== null) return readAndCheck(exchange, exchange.bodyOverride);
      return readRequestBody(exchange.req, config.maxBodyBytes).then((read) => {
        if (read.kind === "too-large") return new PolicyRejection("validation", problems.bodyTooLarge, `the GraphQL request body exceeds ${config.maxBodyBytes} bytes`);
        // The client left: its connection's close records the request; nothing is forwarded.
        if (read.kind === "aborted") return bad("the client left before sending the whole body");
        exchange.bodyOverride = read.body;
        return readAndCheck(exchange, read.body);
      });
    },
  };
}

function overLimit(reason: string): PolicyRejection {
  return new PolicyRejection("validation", problems.graphqlLimitExceeded, reason);
}
