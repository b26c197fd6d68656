import { BlockList, isIPv4, isIPv6 } from "node:net";
import type { IpFilterConfig } from "./ip-filter-config.js";

export type IpFilterResult = { ok: true } | { ok: false; status: 403; reason: string };

export interface IpFilter {
  /** True when no list is configured: every address passes. */
  readonly empty: boolean;
  /**
   * `clientIp` is the address the pipeline decided is the client: the socket's peer,
   * or what trusted proxies said (trustProxy). Synchronous.
   */
  check(clientIp: string): IpFilterResult;
}

interface Address {
  ip: string;
  family: "ipv4" | "ipv6";
}

/** One configured layer (the global lists, or a route's), compiled once. */
class IpLayer {
  readonly #allow: FamilyLists | undefined;
  readonly #deny: FamilyLists | undefined;

  constructor(config: IpFilterConfig) {
    this.#allow = config.allow.length > 0 ? blockListOf(config.allow) : undefined;
    this.#deny = config.deny.length > 0 ? blockListOf(config.deny) : undefined;
  }

  get empty(): boolean {
    return this.#allow === undefined && this.#deny === undefined;
  }

  denies(address: Address): boolean {
    return this.#deny?.[address.family].check(address.ip, address.family) ?? false;
  }

  /** True when there is no allow list, or the address is on it. */
  allows(address: Address): boolean {
    return this.#allow?.[address.family].check(address.ip, address.family) ?? true;
  }
}

class LayeredFilter implements IpFilter {
  readonly layers: readonly IpLayer[];
  readonly empty: boolean;

  constructor(layers: readonly IpLayer[]) {
    this.layers = layers.filter((layer) => !layer.empty);
    this.empty = this.layers.length === 0;
  }

  check(clientIp: string): IpFilterResult {
    if (this.empty) return { ok: true };
    const address = parseAddress(clientIp);
    // Fail closed: with any list configured, an address that cannot be read cannot be vouched for.
    if (address === undefined) return { ok: false, status: 403, reason: "client address is not an IP address" };
    if (this.layers.some((layer) => layer.denies(address))) return { ok: false, status: 403, reason: "client address is on a deny list" };
    if (!this.layers.every((layer) => layer.allows(address))) return { ok: false, status: 403, reason: "client address is not on the allow list" };
    return { ok: true };
  }
}

/** IP allow and deny lists (addresses and CIDR ranges, IPv4 and IPv6) of one layer. */
export function compileIpFilter(config: IpFilterConfig): IpFilter {
  return new LayeredFilter([new IpLayer(config)]);
}

/**
 * Layers (the global lists, then a route's) as one filter. A deny in any layer wins
 * over every allow, and every layer with a non-empty allow list must allow the
 * address: a route can narrow the global allow list, never widen it.
 */
export function composeIpFilters(...filters: IpFilter[]): IpFilter {
  return new LayeredFilter(
    filters.flatMap((filter) => {
      if (!(filter instanceof LayeredFilter)) throw new TypeError("composeIpFilters takes filters made by compileIpFilter or composeIpFilters");
      return filter.layers;
    }),
  );
}

/**
 * One BlockList per family, each address checked against its own family's rules only:
 * a single BlockList also matches IPv4 addresses against IPv6 ranges that contain the
 * IPv4-mapped block, so `allow: ["::/64"]` (meant for some IPv6 clients) would let
 * every IPv4 client in.
 */
interface FamilyLists {
  ipv4: BlockList;
  ipv6: BlockList;
}

/**
 * Every rule is added as written. A rule written as an IPv4-mapped IPv6 address or
 * range (`::ffff:10.0.0.0/104`) is also added as the IPv4 rule it means, because
 * clients are compared in their IPv4 form (see parseAddress).
 */
function blockListOf(entries: readonly string[]): FamilyLists {
  const lists: FamilyLists = { ipv4: new BlockList(), ipv6: new BlockList() };
  for (const entry of entries) {
    const [ip, bitsText] = entry.split("/") as [string, string | undefined];
    const family = isIPv6(ip) ? "ipv6" : "ipv4";
    const bits = bitsText === undefined ? undefined : Number(bitsText);
    if (bits === undefined) lists[family].addAddress(ip, family);
    else lists[family].addSubnet(ip, bits, family);
    const mapped = family === "ipv6" ? ipv4MappedAddress(ip) : undefined;
    if (mapped === undefined) continue;
    if (bits === undefined) lists.ipv4.addAddress(mapped, "ipv4");
    else if (bits >= 96) lists.ipv4.addSubnet(mapped, bits - 96, "ipv4");
  }
  return lists;
}

/**
 * An address as the filter compares it: brackets and an IPv6 zone (`%eth0`) removed,
 * and an IPv4-mapped IPv6 address (`::ffff:10.1.2.3`, `::ffff:a01:203`; RFC 4291
 * 2.5.5.2) turned into the IPv4 address it carries, so a client reaching a
 * dual-stack listener matches the IPv4 rules and cannot dodge them.
 */
function parseAddress(raw: string): Address | undefined {
  let ip = raw.trim();
  if (ip.startsWith("[") && ip.endsWith("]")) ip = ip.slice(1, -1);
  const zone = ip.indexOf("%");
  if (zone !== -1) ip = ip.slice(0, zone);
  if (isIPv4(ip)) return { ip, family: "ipv4" };
  if (!isIPv6(ip)) return undefined;
  const mapped = ipv4MappedAddress(ip);
  return mapped === undefined ? { ip, family: "ipv6" } : { ip: mapped, family: "ipv4" };
}

/** The IPv4 address inside `::ffff:a.b.c.d` (in any spelling), or undefined. */
function ipv4MappedAddress(ip: string): string | undefined {
  const groups = ipv6Groups(ip);
  if (groups.slice(0, 5).some((group) => group !== 0) || groups[5] !== 0xffff) return undefined;
  const [high = 0, low = 0] = groups.slice(6);
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/** The eight 16-bit groups of an address that isIPv6 accepted. */
function ipv6Groups(ip: string): number[] {
  let text = ip;
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split(".").map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string): number[] => (part === "" ? [] : part.split(":").map((group) => parseInt(group, 16)));
  const [front = "", back] = text.split("::") as [string, string | undefined];
  if (back === undefined) return parse(front);
  const head = parse(front);
  const rest = parse(back);
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}
