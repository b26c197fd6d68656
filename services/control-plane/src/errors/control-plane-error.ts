import type { ProblemType } from "./problem-catalog.js";

/**
 * The one error type the domain, the services and the API throw on purpose. It names
 * a catalog entry; `detail` is written for the client and never contains a secret;
 * `extensions` become extra members of the problem document (RFC 9457 3.2).
 */
export class ControlPlaneError extends Error {
  constructor(
    readonly problem: ProblemType,
    readonly detail: string,
    readonly extensions: Readonly<Record<string, unknown>> = {},
    options?: { cause?: unknown },
  ) {
    super(`${problem.code}: ${detail}`, options);
    this.name = "ControlPlaneError";
  }
}
