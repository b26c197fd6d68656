import type { NextFunction, Request, Response, Router } from "express";
import type { Actor } from "@tollgate/events";
import type { z } from "zod";
import type { AuthenticatedKey } from "../application/credential-service.js";
import { ControlPlaneError } from "../errors/control-plane-error.js";
import { problems } from "../errors/problem-catalog.js";
import type { AdminAuthenticator } from "./admin-authenticator.js";
import type { AnyEndpoint, EndpointAccess } from "./endpoint.js";
import { listIssues, validationError, type ProblemIssue } from "./problem-response.js";
import { bearerToken, presentedApiKey } from "./read-credentials.js";

export interface EndpointAuth {
  admin: AdminAuthenticator;
  consumer: (presentedKey: string) => AuthenticatedKey | null;
}

export interface MountOptions {
  auth: EndpointAuth;
  /** The read model's position, sent as X-Control-Plane-Version on every answer. */
  version: () => bigint;
}

interface Caller {
  actor: Actor;
  consumerId: string | null;
}

/** Registers each endpoint on the router: authenticate, validate, handle, answer. Errors go to the problem handler. */
export function mountEndpoints(router: Router, endpoints: readonly AnyEndpoint[], options: MountOptions): void {
  for (const endpoint of endpoints) {
    const run = async (req: Request, res: Response): Promise<void> => {
      const caller = authenticate(req, res, endpoint.access, options.auth);
      const issues: ProblemIssue[] = [];
      const parse = <T>(where: string, schema: z.ZodType<T> | undefined, value: unknown, fallback: T): T => {
        if (!schema) return fallback;
        const result = schema.safeParse(value);
        if (result.success) return result.data;
        issues.push(...listIssues(where, result.error.issues));
        return fallback;
      };
      checkContentType(req, endpoint.body !== undefined);
      const params = parse("params", endpoint.params, req.params, {});
      const query = parse("query", endpoint.query, req.query, {});
      const body = parse("body", endpoint.body, req.body ?? {}, undefined);
      if (issues.length > 0) throw validationError(issues);
      const result = await endpoint.handle({
        params,
        query,
        body,
        actor: caller.actor,
        consumerId: caller.consumerId,
        ifMatch: parseIfMatch(req.headers["if-match"]),
        requestId: res.locals.requestId as string,
      });
      res.setHeader("x-control-plane-version", options.version().toString());
      if (result.etag !== undefined) res.setHeader("etag", `"${result.etag}"`);
      res.status(result.status).json(result.body);
    };
    // Express 5 would await a returned promise itself; wrapping keeps the handler's
    // type honest (it returns void) and routes every rejection to the problem handler.
    router[endpoint.method](endpoint.path, (req: Request, res: Response, next: NextFunction) => {
      run(req, res).catch(next);
    });
  }
}

function authenticate(req: Request, res: Response, access: EndpointAccess, auth: EndpointAuth): Caller {
  switch (access) {
    case "public":
      return { actor: { kind: "system", id: "anonymous" }, consumerId: null };
    case "admin:read":
    case "admin:write": {
      res.locals.wwwAuthenticate = 'Bearer realm="tollgate-admin"';
      const token = bearerToken(req);
      if (token === null) throw new ControlPlaneError(problems.unauthorized, "send an admin token as Authorization: Bearer <token>");
      const principal = auth.admin.authenticate(token);
      if (!principal) {
        res.locals.wwwAuthenticate = 'Bearer realm="tollgate-admin", error="invalid_token"';
        throw new ControlPlaneError(problems.unauthorized, "the admin token is not valid");
      }
      if (access === "admin:write" && principal.access !== "write") {
        throw new ControlPlaneError(problems.forbidden, `admin token "${principal.name}" is read-only`);
      }
      res.locals.actorId = principal.name;
      return { actor: { kind: "admin", id: principal.name }, consumerId: null };
    }
    case "consumer": {
      res.locals.wwwAuthenticate = 'Bearer realm="tollgate-consumer"';
      const key = presentedApiKey(req);
      if (key === null) throw new ControlPlaneError(problems.unauthorized, "send your API key as Authorization: Bearer <key> or X-Api-Key");
      const authenticated = auth.consumer(key);
      if (!authenticated) {
        res.locals.wwwAuthenticate = 'Bearer realm="tollgate-consumer", error="invalid_token"';
        throw new ControlPlaneError(problems.unauthorized, "the API key is not valid, expired or revoked");
      }
      res.locals.actorId = authenticated.consumerId;
      return { actor: { kind: "consumer", id: authenticated.consumerId }, consumerId: authenticated.consumerId };
    }
  }
}

function checkContentType(req: Request, expectsBody: boolean): void {
  const hasBody = Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
  if (hasBody && (!expectsBody || !req.is("application/json"))) {
    if (!expectsBody) throw new ControlPlaneError(problems.invalidRequest, "this operation takes no body");
    throw new ControlPlaneError(problems.unsupportedMediaType, "send the body as application/json");
  }
}

/** `If-Match: "3"` (or `W/"3"`, or a bare 3) → 3. Anything else is refused rather than ignored. */
function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header);
  if (!match) {
    throw new ControlPlaneError(problems.invalidRequest, 'If-Match must carry one entity version, e.g. If-Match: "3"', {
      issues: [{ path: "headers.if-match", message: "expected one version" }],
    });
  }
  return Number(match[1]);
}
