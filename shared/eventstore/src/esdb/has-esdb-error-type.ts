import { type ErrorType, isCommandError } from "@eventstore/db-client";

/** True when `error` is one of the client's command errors of one of `types`. */
export function hasEsdbErrorType(error: unknown, ...types: ErrorType[]): boolean {
  return error instanceof Error && isCommandError(error) && types.includes(error.type);
}
