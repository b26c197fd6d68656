/** What the registry needs of a member: a slot it writes, -1 while the member is not in. */
export interface InFlightMember {
  inFlightSlot: number;
}

/**
 * The exchanges in flight: a dense array, each member holding its own index, removed by
 * moving the last member into its slot.
 *
 * Not a Set, on purpose. A Set that gains and loses one entry per request rehashes into
 * a new table every few dozen requests, and V8 links each obsolete table to the one that
 * replaced it (for iterators still walking the old one), with the old entries left in
 * it. Once a full collection has promoted the current table to the old generation, the
 * dead tables there keep each newer table, and every request listed in it, alive
 * through the next scavenges, so the requests are promoted, and so on until the next
 * full collection, which promotes the table of that moment and starts the chain again.
 * In the gateway that promoted 1.1-2.8 MB per scavenge instead of 0.08 MB, made
 * scavenges 4-8 times longer and full collections ten times more frequent, and cost a
 * fifth of the CPU per request (docs/benchmarks.md, "Session 7 runs"). An array drops a
 * removed member's reference at once and links nothing.
 */
export class InFlightRegistry<T extends InFlightMember> {
  readonly #members: T[] = [];

  get size(): number {
    return this.#members.length;
  }

  add(member: T): void {
    if (member.inFlightSlot !== -1) return;
    member.inFlightSlot = this.#members.length;
    this.#members.push(member);
  }

  /** Removes the member; false when it was not in. */
  delete(member: T): boolean {
    const slot = member.inFlightSlot;
    if (slot < 0 || this.#members[slot] !== member) return false;
    const last = this.#members.pop() as T;
    if (last !== member) {
      this.#members[slot] = last;
      last.inFlightSlot = slot;
    }
    member.inFlightSlot = -1;
    return true;
  }

  /** A copy of the members: they may leave while the caller walks it. */
  snapshot(): T[] {
    return this.#members.slice();
  }
}
