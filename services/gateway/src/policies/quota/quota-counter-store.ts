import type { Quota } from "@tollgate/events";

export type QuotaEnforcement = Quota["enforcement"];

/** What a consume did to a counter. */
export interface QuotaCount {
  /** The counter after the consume: requests counted in the period, this one included when admitted. */
  readonly used: number;
  /** False only for a hard quota that had no room left: then nothing was counted. */
  readonly admitted: boolean;
}

/**
 * One atomic counter per subscription and period, shared by every gateway that uses the
 * same store. `consume` is the only call on the request path; the others serve the
 * quota projector's reconciliation and the admin views.
 */
export interface QuotaCounterStore {
  /**
   * Counts `cost` against `limit`. Hard: counts only if the result stays within the
   * limit, and is refused otherwise (so a refused request is not counted). Overage:
   * always counts. `expiresAt` (epoch ms) is when the counter may be dropped; it is set
   * when the counter is created.
   */
  consume(key: string, cost: number, limit: number, enforcement: QuotaEnforcement, expiresAt: number): QuotaCount | Promise<QuotaCount>;
  /** Subtracts `n` (a refund of requests that turned out not to count). */
  refund(key: string, n: number, expiresAt: number): Promise<number>;
  /** Sets the counter to `used`. */
  set(key: string, used: number, expiresAt: number): Promise<void>;
  /** The counter's value; 0 when it does not exist. */
  get(key: string): Promise<number>;
}
