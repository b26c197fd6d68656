import { describe, expect, it } from "vitest";
import { InFlightRegistry } from "./in-flight.js";

const member = (name: string) => ({ name, inFlightSlot: -1 });

describe("InFlightRegistry", () => {
  it("counts members in and out, whatever the order they leave in", () => {
    const registry = new InFlightRegistry<ReturnType<typeof member>>();
    const [a, b, c, d] = ["a", "b", "c", "d"].map(member) as [ReturnType<typeof member>, ReturnType<typeof member>, ReturnType<typeof member>, ReturnType<typeof member>];
    for (const m of [a, b, c, d]) registry.add(m);
    expect(registry.size).toBe(4);
    expect(registry.delete(b)).toBe(true);
    expect(registry.delete(a)).toBe(true);
    expect(registry.snapshot().map((m) => m.name).sort()).toEqual(["c", "d"]);
    expect(registry.delete(d)).toBe(true);
    expect(registry.delete(c)).toBe(true);
    expect(registry.size).toBe(0);
    expect([a, b, c, d].map((m) => m.inFlightSlot)).toEqual([-1, -1, -1, -1]);
  });

  it("ignores a member added twice or removed when it is not in", () => {
    const registry = new InFlightRegistry<ReturnType<typeof member>>();
    const a = member("a");
    const stranger = member("x");
    registry.add(a);
    registry.add(a);
    expect(registry.size).toBe(1);
    expect(registry.delete(stranger)).toBe(false);
    stranger.inFlightSlot = 0; // a slot that another member holds
    expect(registry.delete(stranger)).toBe(false);
    expect(registry.snapshot()).toEqual([a]);
  });

  it("gives a snapshot that members may leave while it is walked", () => {
    const registry = new InFlightRegistry<ReturnType<typeof member>>();
    const members = ["a", "b", "c"].map(member);
    for (const m of members) registry.add(m);
    for (const m of registry.snapshot()) registry.delete(m);
    expect(registry.size).toBe(0);
  });
});
