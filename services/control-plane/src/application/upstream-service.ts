import type { UpstreamTargetOverride } from "@tollgate/events";
import type { UpstreamCommand } from "../domain/upstream/decide-upstream.js";
import { upstreamDecider } from "../domain/upstream/upstream-decider.js";
import { upstreamView, type UpstreamView } from "./entity-views.js";
import { loadEntityRecord } from "./load-entity-record.js";
import { notFound, readAfterWrite, type ServiceContext, type WriteOptions } from "./service-context.js";

/** Live target overrides of the upstreams the gateways declare (stream `upstream-<name>`). */
export class UpstreamService {
  constructor(private readonly context: ServiceContext) {}

  list(): UpstreamView[] {
    return this.context.readModel.listUpstreams().map(upstreamView);
  }

  async get(name: string, asOf?: Date): Promise<UpstreamView> {
    const record = asOf ? await loadEntityRecord(this.context.store, upstreamDecider, name, asOf) : this.context.readModel.upstream(name);
    if (!record) throw notFound("upstream override", name);
    return upstreamView(record);
  }

  setTargets(name: string, targets: UpstreamTargetOverride[], options: WriteOptions): Promise<UpstreamView> {
    return this.#execute(name, { type: "SetUpstreamTargets", upstream: name, targets }, options);
  }

  reset(name: string, options: WriteOptions): Promise<UpstreamView> {
    return this.#execute(name, { type: "ResetUpstreamTargets", upstream: name }, options);
  }

  async #execute(name: string, command: UpstreamCommand, options: WriteOptions): Promise<UpstreamView> {
    const result = await this.context.commands.execute(upstreamDecider, name, command, options);
    const record = await readAfterWrite(
      this.context,
      result.position,
      () => this.context.readModel.upstream(name),
      () => loadEntityRecord(this.context.store, upstreamDecider, name),
    );
    return upstreamView(record);
  }
}
