/**
 * Every error the control plane answers with. Each entry becomes an
 * application/problem+json response (RFC 9457) in api/problem-response.ts and
 * nowhere else; `type` is `urn:tollgate:problem:<code>`, listed in docs/control-plane.md.
 */
export interface ProblemType {
  /** Stable, machine-readable; clients may branch on it. */
  readonly code: string;
  readonly status: number;
  /** Short and the same for every occurrence (RFC 9457 3.1.3). */
  readonly title: string;
  /** Whether the same request may succeed if sent again later, unchanged. */
  readonly retryable: boolean;
}

export const problems = {
  invalidRequest: { code: "invalid-request", status: 400, title: "The request is invalid", retryable: false },
  unauthorized: { code: "unauthorized", status: 401, title: "Missing or invalid credentials", retryable: false },
  forbidden: { code: "forbidden", status: 403, title: "The credential does not allow this", retryable: false },
  notFound: { code: "not-found", status: 404, title: "No such resource", retryable: false },
  versionConflict: {
    code: "version-conflict",
    status: 409,
    title: "The resource changed since the version the request was based on",
    retryable: false,
  },
  alreadyExists: { code: "already-exists", status: 409, title: "A resource with this identity already exists", retryable: false },
  invalidState: { code: "invalid-state", status: 409, title: "The resource's state does not allow this", retryable: false },
  invalidReference: { code: "invalid-reference", status: 422, title: "The request refers to a resource that cannot be used", retryable: false },
  payloadTooLarge: { code: "payload-too-large", status: 413, title: "Request body too large", retryable: false },
  unsupportedMediaType: { code: "unsupported-media-type", status: 415, title: "Send application/json", retryable: false },
  internalError: { code: "internal-error", status: 500, title: "Internal control-plane error", retryable: true },
  secretKeysMissing: {
    code: "secret-keys-missing",
    status: 503,
    title: "No encryption key is configured for signing secrets",
    retryable: false,
  },
  storeUnavailable: { code: "store-unavailable", status: 503, title: "The event log is unavailable", retryable: true },
  analyticsUnavailable: { code: "analytics-unavailable", status: 503, title: "The analytics store is unavailable", retryable: true },
} as const satisfies Record<string, ProblemType>;

export type ProblemName = keyof typeof problems;

export function problemTypeUri(problem: ProblemType): string {
  return `urn:tollgate:problem:${problem.code}`;
}
