import type { SubscriptionCommand } from "../domain/subscription/decide-subscription.js";
import { subscriptionDecider } from "../domain/subscription/subscription-decider.js";
import { subscriptionView, type SubscriptionView } from "./entity-views.js";
import { loadEntityRecord } from "./load-entity-record.js";
import { notFound, readAfterWrite, type ServiceContext, type WriteOptions } from "./service-context.js";

/** Limits a consumer acting on its own behalf: it sees only its own subscriptions, and only public plans. */
export interface SelfServiceScope {
  consumerId: string;
}

export class SubscriptionService {
  constructor(private readonly context: ServiceContext) {}

  list(filter: { consumerId?: string; planId?: string } = {}): SubscriptionView[] {
    return this.context.readModel.listSubscriptions(filter).map(subscriptionView);
  }

  async get(subscriptionId: string, asOf?: Date, scope?: SelfServiceScope): Promise<SubscriptionView> {
    const record = asOf
      ? await loadEntityRecord(this.context.store, subscriptionDecider, subscriptionId, asOf)
      : this.context.readModel.subscription(subscriptionId);
    if (!record || (scope && record.state.consumerId !== scope.consumerId)) throw notFound("subscription", subscriptionId);
    return subscriptionView(record);
  }

  start(
    input: { subscriptionId?: string; consumerId: string; planId: string; billingAnchor?: string | undefined },
    options: WriteOptions,
    scope?: SelfServiceScope,
  ): Promise<SubscriptionView> {
    const readModel = this.context.readModel;
    const subscriptionId = input.subscriptionId ?? this.context.ids.entityId("sub");
    const plan = this.#visiblePlan(input.planId, scope);
    return this.#execute(
      subscriptionId,
      {
        type: "StartSubscription",
        subscriptionId,
        consumerId: input.consumerId,
        planId: input.planId,
        billingAnchor: input.billingAnchor ?? null,
        consumer: readModel.consumer(input.consumerId)?.state ?? null,
        plan,
        consumerSubscriptions: readModel.listSubscriptions({ consumerId: input.consumerId }).map((record) => record.state),
      },
      options,
    );
  }

  suspend(subscriptionId: string, reason: string | null, options: WriteOptions): Promise<SubscriptionView> {
    return this.#execute(subscriptionId, { type: "SuspendSubscription", subscriptionId, reason }, options);
  }

  reactivate(subscriptionId: string, options: WriteOptions): Promise<SubscriptionView> {
    return this.#execute(subscriptionId, { type: "ReactivateSubscription", subscriptionId }, options);
  }

  cancel(subscriptionId: string, reason: string | null, options: WriteOptions, scope?: SelfServiceScope): Promise<SubscriptionView> {
    this.#checkOwner(subscriptionId, scope);
    return this.#execute(subscriptionId, { type: "CancelSubscription", subscriptionId, reason }, options);
  }

  changePlan(subscriptionId: string, planId: string, options: WriteOptions, scope?: SelfServiceScope): Promise<SubscriptionView> {
    this.#checkOwner(subscriptionId, scope);
    const plan = this.#visiblePlan(planId, scope);
    return this.#execute(subscriptionId, { type: "ChangeSubscriptionPlan", subscriptionId, planId, plan }, options);
  }

  /** A consumer may only use public plans; a private plan looks to it exactly like a missing one. */
  #visiblePlan(planId: string, scope: SelfServiceScope | undefined) {
    const plan = this.context.readModel.plan(planId)?.state ?? null;
    return scope && plan && !plan.public ? null : plan;
  }

  #checkOwner(subscriptionId: string, scope: SelfServiceScope | undefined): void {
    if (!scope) return;
    const record = this.context.readModel.subscription(subscriptionId);
    // Someone else's subscription is reported as missing, so ids cannot be probed.
    if (!record || record.state.consumerId !== scope.consumerId) throw notFound("subscription", subscriptionId);
  }

  async #execute(subscriptionId: string, command: SubscriptionCommand, options: WriteOptions): Promise<SubscriptionView> {
    const result = await this.context.commands.execute(subscriptionDecider, subscriptionId, command, options);
    const record = await readAfterWrite(
      this.context,
      result.position,
      () => this.context.readModel.subscription(subscriptionId),
      () => loadEntityRecord(this.context.store, subscriptionDecider, subscriptionId),
    );
    return subscriptionView(record);
  }
}

