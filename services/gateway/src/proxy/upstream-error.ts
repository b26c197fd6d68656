import type { FailureKind } from "@tollgate/events";
import { errors } from "undici";
import { problems, type ProblemType } from "../errors/problem-catalog.js";

/**
 * A failure to get a response from an upstream, named after what went wrong and
 * carrying the original error as `cause`. The problem it maps to goes to the client;
 * the message (with the target and the cause) goes to the event and the log only.
 */
export class UpstreamError extends Error {
  constructor(
    readonly problem: ProblemType,
    readonly failure: FailureKind,
    message: string,
    options: { cause: unknown },
  ) {
    super(message, options);
    this.name = "UpstreamError";
  }
}

/** No connection could be made, or it broke before a response head arrived. 502. */
export class UpstreamUnreachableError extends UpstreamError {
  constructor(message: string, options: { cause: unknown }) {
    super(problems.upstreamUnreachable, "upstream-error", message, options);
    this.name = "UpstreamUnreachableError";
  }
}

/** Connecting, or waiting for the response head or the next body chunk, took too long. 504. */
export class UpstreamTimeoutError extends UpstreamError {
  constructor(message: string, options: { cause: unknown }) {
    super(problems.upstreamTimeout, "timeout", message, options);
    this.name = "UpstreamTimeoutError";
  }
}

/** The upstream answered with something that is not a valid HTTP response. 502. */
export class UpstreamResponseError extends UpstreamError {
  constructor(message: string, options: { cause: unknown }) {
    super(problems.upstreamBadResponse, "upstream-error", message, options);
    this.name = "UpstreamResponseError";
  }
}

/** Maps what undici (or the socket under it) reported to one of the named errors. */
export function toUpstreamError(error: unknown, origin: string): UpstreamError {
  const cause = error;
  const reason = error instanceof Error ? error.message : String(error);
  if (error instanceof errors.ConnectTimeoutError) {
    return new UpstreamTimeoutError(`connect to ${origin} timed out`, { cause });
  }
  if (error instanceof errors.HeadersTimeoutError) {
    return new UpstreamTimeoutError(`${origin} sent no response head in time`, { cause });
  }
  if (error instanceof errors.BodyTimeoutError) {
    return new UpstreamTimeoutError(`${origin} paused its response body for too long`, { cause });
  }
  if (
    error instanceof errors.HTTPParserError ||
    error instanceof errors.ResponseContentLengthMismatchError ||
    error instanceof errors.HeadersOverflowError ||
    error instanceof errors.ResponseExceededMaxSizeError
  ) {
    return new UpstreamResponseError(`invalid response from ${origin}: ${reason}`, { cause });
  }
  const code = (error as { code?: unknown } | null)?.code;
  return new UpstreamUnreachableError(`${origin}: ${typeof code === "string" ? `${code} ` : ""}${reason}`, { cause });
}
