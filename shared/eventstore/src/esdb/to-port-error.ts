import { ErrorType, isCommandError } from "@eventstore/db-client";
import { type ExpectedRevision, StoreUnavailableError, WrongExpectedRevisionError } from "../event-store.js";
import { fromEsdbCurrentRevision } from "./esdb-revision.js";

/** The client's errors that mean "the server could not be reached or could not answer now". */
const unavailableTypes: ReadonlySet<ErrorType> = new Set([
  ErrorType.UNAVAILABLE,
  ErrorType.DEADLINE_EXCEEDED,
  ErrorType.TIMEOUT,
  ErrorType.NOT_LEADER,
  // The server cancels calls while it shuts down or changes leader (EventStoreDB 24.4+).
  ErrorType.CANCELLED,
]);

/** gRPC status codes for the same, when an error arrives without the client's wrapping. */
const unavailableGrpcCodes: ReadonlySet<number> = new Set([
  1, // CANCELLED
  4, // DEADLINE_EXCEEDED
  14, // UNAVAILABLE
]);

export interface ErrorContext {
  operation: string;
  streamId?: string;
  expected?: ExpectedRevision;
}

/**
 * Maps a client error onto the port's error catalog. Errors with no port meaning (access
 * denied, invalid argument...) are returned as they are: they are bugs or configuration
 * problems, and retrying them would only hide that.
 */
export function toPortError(error: unknown, context: ErrorContext): Error {
  if (error instanceof WrongExpectedRevisionError || error instanceof StoreUnavailableError) return error;
  if (!(error instanceof Error)) return new Error(`${context.operation} failed: ${String(error)}`);
  if (isCommandError(error)) {
    if (error.type === ErrorType.WRONG_EXPECTED_VERSION) {
      return new WrongExpectedRevisionError(
        context.streamId ?? error.streamName,
        context.expected ?? "any",
        fromEsdbCurrentRevision(error.actualVersion),
      );
    }
    if (unavailableTypes.has(error.type)) return unavailable(error, context);
    return error;
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === "number" && unavailableGrpcCodes.has(code)) return unavailable(error, context);
  // Gossip discovery of a cluster gives up with a plain Error.
  if (error.message.startsWith("Failed to discover")) return unavailable(error, context);
  return error;
}

function unavailable(error: Error, context: ErrorContext): StoreUnavailableError {
  const target = context.streamId ? ` on ${context.streamId}` : "";
  return new StoreUnavailableError(`EventStoreDB unavailable during ${context.operation}${target}: ${error.message}`, {
    cause: error,
  });
}
