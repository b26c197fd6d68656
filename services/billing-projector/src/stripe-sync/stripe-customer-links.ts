import { openSqliteDatabase, SqliteCheckpointStore } from "@tollgate/eventstore";

type Database = ReturnType<typeof openSqliteDatabase>;

/**
 * Each consumer's Stripe customer, folded from StripeCustomerLinked events into the billing
 * projector's own file, where the report planner reads it (`SqliteBillingStore.planReports`
 * joins it: the consumer's `stripeCustomerId` label wins, this link fills in otherwise).
 *
 * It is a projection of the log with the Stripe sync's checkpoint in the same file, and
 * not part of the usage projection: a usage rebuild keeps it; a lost file is refilled by
 * the sync replaying the log (where every Stripe step is found already done).
 */
export const stripeCustomerLinksSchema = `
  CREATE TABLE IF NOT EXISTS stripe_customer_links (
    consumer_id        TEXT PRIMARY KEY,
    stripe_customer_id TEXT    NOT NULL,
    position           INTEGER NOT NULL
  ) STRICT;
`;

export class StripeCustomerLinks {
  readonly #db: Database;
  readonly #upsert;
  readonly #select;
  /** The Stripe sync's checkpoint lives here, beside the links it writes. */
  readonly checkpoints: SqliteCheckpointStore;

  private constructor(db: Database) {
    this.#db = db;
    db.exec(stripeCustomerLinksSchema);
    // A link folded again (at-least-once delivery) or an older one never replaces a newer one.
    this.#upsert = db.prepare<[string, string, number]>(
      "INSERT INTO stripe_customer_links (consumer_id, stripe_customer_id, position) VALUES (?, ?, ?) " +
        "ON CONFLICT (consumer_id) DO UPDATE SET stripe_customer_id = excluded.stripe_customer_id, position = excluded.position WHERE excluded.position >= stripe_customer_links.position",
    );
    this.#select = db.prepare<[string], string>("SELECT stripe_customer_id FROM stripe_customer_links WHERE consumer_id = ?").pluck();
    this.checkpoints = new SqliteCheckpointStore(db);
  }

  /** Its own connection to the billing projector's file. */
  static open(options: { file: string; synchronous: "normal" | "full"; busyTimeoutMs?: number }): StripeCustomerLinks {
    return new StripeCustomerLinks(openSqliteDatabase({ file: options.file, synchronous: options.synchronous, busyTimeoutMs: options.busyTimeoutMs ?? 5_000 }));
  }

  link(consumerId: string, stripeCustomerId: string, position: bigint): void {
    this.#upsert.run(consumerId, stripeCustomerId, Number(position));
  }

  get(consumerId: string): string | null {
    return this.#select.get(consumerId) ?? null;
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
