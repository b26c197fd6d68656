import { controlStreamCategories, streamPrefix } from "@tollgate/events";
import { START, type EventStore } from "@tollgate/eventstore";
import { ControlPlaneReadModel } from "../projections/control-plane-read-model.js";

/** The control plane's whole state folded from the log once, without a subscription: what apply diffs against. */
export async function loadControlSnapshot(store: EventStore, pageSize = 1_000): Promise<ControlPlaneReadModel> {
  const snapshot = new ControlPlaneReadModel();
  const filter = { streamPrefixes: controlStreamCategories.map((category) => streamPrefix(category)) };
  let from = START;
  for (;;) {
    const page = await store.readAll({ from, limit: pageSize, filter });
    if (page.length === 0) return snapshot;
    for (const event of page) snapshot.live.apply(event);
    from = page.at(-1)!.position;
  }
}
