import { hash } from "node:crypto";

/** A 32-bit hash of a string: the first 4 bytes of its MD5 (for spreading keys, not for security). */
export function hash32(value: string): number {
  return Number.parseInt(hash("md5", value, "hex").slice(0, 8), 16);
}

/**
 * A consistent-hash ring (Karger et al.): each target owns `pointsPerWeight × weight`
 * points on a 32-bit circle, placed by hashing `<id>#<n>`; a key belongs to the first
 * point at or after its own hash. A target's points depend only on its id, so adding or
 * removing a target moves only the keys of the points it gains or loses: its own share,
 * and nothing else.
 */
export class HashRing<T> {
  readonly #hashes: Uint32Array;
  readonly #owners: T[];

  constructor(members: readonly { id: string; weight: number; value: T }[], pointsPerWeight = 160) {
    const points: { hash: number; owner: T }[] = [];
    for (const member of members) {
      for (let n = 0; n < member.weight * pointsPerWeight; n++) points.push({ hash: hash32(`${member.id}#${n}`), owner: member.value });
    }
    points.sort((a, b) => a.hash - b.hash);
    this.#hashes = Uint32Array.from(points, (point) => point.hash);
    this.#owners = points.map((point) => point.owner);
  }

  /**
   * The owner of `keyHash`, or, when `accept` refuses it (an unhealthy target), the next
   * distinct owner clockwise that it accepts: a down target's keys spread over the
   * others and come back to it when it recovers. Null when it accepts none.
   */
  lookup(keyHash: number, accept: (owner: T) => boolean = () => true): T | null {
    const hashes = this.#hashes;
    const count = hashes.length;
    if (count === 0) return null;
    let low = 0;
    let high = count;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((hashes[middle] as number) < keyHash) low = middle + 1;
      else high = middle;
    }
    for (let step = 0; step < count; step++) {
      const owner = this.#owners[(low + step) % count] as T;
      if (accept(owner)) return owner;
    }
    return null;
  }
}
