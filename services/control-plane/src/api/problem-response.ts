import type { ErrorRequestHandler, Response } from "express";
import { formatIssuePath } from "@tollgate/config";
import { StoreUnavailableError } from "@tollgate/eventstore";
import type { Logger } from "@tollgate/observability";
import type { z } from "zod";
import { ControlPlaneError } from "../errors/control-plane-error.js";
import { problemTypeUri, problems, type ProblemType } from "../errors/problem-catalog.js";

export const problemContentType = "application/problem+json";

export interface ProblemIssue {
  path: string;
  message: string;
}

/** The one place a ControlPlaneError becomes an RFC 9457 response. */
export function sendProblem(res: Response, problem: ProblemType, detail: string, requestId: string, extensions: Readonly<Record<string, unknown>> = {}): void {
  const body = {
    type: problemTypeUri(problem),
    title: problem.title,
    status: problem.status,
    detail,
    instance: `urn:tollgate:request:${requestId}`,
    ...extensions,
    requestId,
    code: problem.code,
    retryable: problem.retryable,
  };
  if (problem.status === 401) res.setHeader("www-authenticate", res.locals.wwwAuthenticate as string | undefined ?? 'Bearer realm="tollgate"');
  res.status(problem.status).type(problemContentType).setHeader("cache-control", "no-store");
  res.send(JSON.stringify(body));
}

/** Zod issues as problem issues, each with its full path (`body.rateLimits[0].points`). */
export function listIssues(where: string, issues: readonly z.core.$ZodIssue[]): ProblemIssue[] {
  return issues.map((issue) => ({ path: formatIssuePath([where, ...issue.path]), message: issue.message }));
}

/** An invalid-request error that lists every issue, not only the first. */
export function validationError(issues: readonly ProblemIssue[]): ControlPlaneError {
  return new ControlPlaneError(problems.invalidRequest, issues.map((issue) => `${issue.path}: ${issue.message}`).join("; "), { issues });
}

/**
 * Maps every error that reaches express to a problem document. Anything that is not a
 * ControlPlaneError is logged with its stack and answered as internal-error without
 * details, so internals never reach a client.
 */
export function problemErrorHandler(logger: Logger | undefined): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => {
    const requestId = (res.locals.requestId as string | undefined) ?? "unknown";
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof ControlPlaneError) {
      sendProblem(res, error.problem, error.detail, requestId, error.extensions);
      return;
    }
    const bodyError = error as { type?: string; status?: number };
    if (bodyError.type === "entity.parse.failed") {
      sendProblem(res, problems.invalidRequest, "the body is not valid JSON", requestId, { issues: [{ path: "body", message: "invalid JSON" }] });
      return;
    }
    if (bodyError.type === "entity.too.large") {
      sendProblem(res, problems.payloadTooLarge, "the body is larger than the limit", requestId);
      return;
    }
    if (error instanceof StoreUnavailableError) {
      logger?.warn({ err: error, requestId }, "event store unavailable");
      sendProblem(res, problems.storeUnavailable, "the event log cannot be reached; retry later", requestId);
      return;
    }
    logger?.error({ err: error, requestId }, "unhandled error");
    sendProblem(res, problems.internalError, "an internal error occurred; it has been logged", requestId);
  };
}
