import type { Plan } from "@tollgate/credentials";
import type { PlanDefinition } from "@tollgate/events";
import { planDecider } from "../domain/plan/plan-decider.js";
import type { PlanCommand } from "../domain/plan/decide-plan.js";
import type { EntityRecord } from "../projections/entity-record.js";
import { planView, type PlanView } from "./entity-views.js";
import { loadEntityRecord } from "./load-entity-record.js";
import { notFound, readAfterWrite, type ServiceContext, type WriteOptions } from "./service-context.js";

export class PlanService {
  constructor(private readonly context: ServiceContext) {}

  list(filter: { publicOnly?: boolean; includeArchived?: boolean } = {}): PlanView[] {
    return this.context.readModel
      .listPlans()
      .filter((record) => (filter.includeArchived ?? true) || !record.state.archived)
      .filter((record) => !filter.publicOnly || record.state.public)
      .map(planView);
  }

  async get(planId: string, asOf?: Date): Promise<PlanView> {
    const record = asOf ? await loadEntityRecord(this.context.store, planDecider, planId, asOf) : this.context.readModel.plan(planId);
    if (!record) throw notFound("plan", planId);
    return planView(record);
  }

  create(planId: string | undefined, definition: PlanDefinition, options: WriteOptions): Promise<PlanView> {
    const id = planId ?? this.context.ids.entityId("plan");
    return this.#execute(id, { type: "CreatePlan", planId: id, definition }, options);
  }

  update(planId: string, changes: Partial<PlanDefinition>, options: WriteOptions): Promise<PlanView> {
    return this.#execute(planId, { type: "UpdatePlan", planId, changes }, options);
  }

  archive(planId: string, options: WriteOptions): Promise<PlanView> {
    return this.#execute(planId, { type: "ArchivePlan", planId }, options);
  }

  async #execute(planId: string, command: PlanCommand, options: WriteOptions): Promise<PlanView> {
    const result = await this.context.commands.execute(planDecider, planId, command, options);
    const record: EntityRecord<Plan> = await readAfterWrite(
      this.context,
      result.position,
      () => this.context.readModel.plan(planId),
      () => loadEntityRecord(this.context.store, planDecider, planId),
    );
    return planView(record);
  }
}
