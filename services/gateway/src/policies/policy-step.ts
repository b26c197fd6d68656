import type { IncomingMessage } from "node:http";
import type { RejectionStage } from "@tollgate/events";
import type { ProblemType } from "../errors/problem-catalog.js";
import type { AuthenticatedIdentity } from "./authenticator.js";

/**
 * What a policy may read from a request, and change about what is forwarded. The
 * gateway's Exchange implements it; nothing is copied for the policies.
 */
export interface PolicyRequest {
  readonly method: string;
  /** The normalized path the route was matched on. */
  readonly path: string;
  /**
   * The query string as it will be sent upstream, with its leading "?", or "" when
   * there is none. A policy that reads a credential from the query removes it here.
   */
  query: string;
  /** The client's address: the socket peer, or what a trusted proxy said (trustProxy). */
  readonly clientIp: string;
  /** Epoch ms at which the request head arrived: the instant expiries are checked against. */
  readonly receivedAtMs: number;
  /**
   * The headers that will be forwarded, flat `[name, value, …]` in the client's case.
   * Hop-by-hop fields and client-sent identity headers are already gone. A policy
   * that consumes a credential header may remove it.
   */
  readonly headers: string[];
  /** The client request itself, for a policy that must read the body (an HMAC body digest). */
  readonly req: IncomingMessage;
  /**
   * The body to forward instead of streaming `req`: set by a policy that read the body
   * into memory (at most its configured cap) to check it, since `req` can be read only
   * once. Null: the body is streamed from the client as it arrives.
   */
  bodyOverride: Buffer | null;
  /**
   * Adds headers to the response, whatever it turns out to be (the upstream's, or a
   * refusal): the RateLimit-* and Quota-* fields. Lower-case names.
   */
  addResponseHeaders(headers: Readonly<Record<string, string>>): void;
}

/**
 * What the policies established about the request. The Exchange records every field in
 * the request's event, whatever the outcome.
 */
export interface PolicyOutcome {
  /** Set once a credential was accepted. */
  identity: AuthenticatedIdentity | null;
  /** Also set for a credential that was recognised but refused (revoked, expired). */
  consumerId: string | null;
  credentialId: string | null;
  planId: string | null;
  subscriptionId: string | null;
  /** The identity index version (log position) the last decision was taken under. */
  controlPlaneVersion: string | null;
}

export type PolicyExchange = PolicyRequest & PolicyOutcome;

/**
 * A refusal, answered as problem+json from the gateway's catalog and recorded as a
 * RequestRejected event with `stage` and `reason`. `reason` is written for the event
 * and for the client's `detail`, so it never contains a credential.
 */
export class PolicyRejection {
  constructor(
    readonly stage: RejectionStage,
    readonly problem: ProblemType,
    readonly reason: string,
    /** Extra response headers, e.g. WWW-Authenticate on a 401 (several values are sent as several lines). */
    readonly headers: readonly (readonly [name: string, value: string | readonly string[]])[] = [],
    /** The rate limit or quota that fired: RequestRejected.limit, and the problem's `limit` member. */
    readonly limit: string | null = null,
    /** The client's `detail`, when it should say more than the event's `reason` (which limit, when to retry). */
    readonly detail: string | null = null,
  ) {}
}

/**
 * One step of a route's policy chain (IP filter, header rules, authentication,
 * authorization, and later rate limit and quota). Built once at config load from
 * validated config, so `run` validates nothing.
 *
 * A synchronous step returns its verdict: null to go on, a rejection to stop. A step
 * that must wait (a JWKS fetch, an introspection call, a body digest) says so with
 * `async: true` and may return a promise; a route whose steps are all synchronous runs
 * its whole chain without an await.
 */
export type PolicyStep =
  | { readonly async: false; run(exchange: PolicyExchange): PolicyRejection | null }
  | { readonly async: true; run(exchange: PolicyExchange): PolicyRejection | null | Promise<PolicyRejection | null> };
