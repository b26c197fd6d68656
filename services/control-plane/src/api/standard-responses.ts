import type { EndpointResponseSpec } from "./endpoint.js";
import { ProblemDocument } from "./schemas/common-schemas.js";

const problem = (description: string): EndpointResponseSpec => ({ description, schema: ProblemDocument });

/** Responses every authenticated read may give. */
export const readResponses = {
  400: problem("invalid-request: every problem listed by path"),
  401: problem("unauthorized: missing or invalid credential (with WWW-Authenticate)"),
  404: problem("not-found"),
} satisfies Record<number, EndpointResponseSpec>;

/** Responses every write may give, besides its success. */
export const writeResponses = {
  ...readResponses,
  403: problem("forbidden: the credential may not write"),
  409: problem("already-exists, invalid-state, or version-conflict"),
  422: problem("invalid-reference: a referenced plan or consumer does not exist or cannot be used"),
} satisfies Record<number, EndpointResponseSpec>;

/** Writes that honour If-Match. */
export const conflictResponses = {
  409: problem("version-conflict: the entity changed since the version in If-Match, or concurrently; also already-exists, invalid-state"),
} satisfies Record<number, EndpointResponseSpec>;
