import { BlockList, isIP } from "node:net";
import type { TrustProxyConfig } from "./config/gateway-config.js";

/**
 * Which peers may tell the gateway who the client is. Compiled once from
 * `trustProxy`; the default trusts nobody, so a client cannot claim another
 * address through X-Forwarded-For (a classic way to dodge IP allow-lists and rate
 * limits, and to poison logs).
 */
export interface TrustProxy {
  /** True when headers set by this peer (X-Forwarded-*, Forwarded) are believed. */
  isTrusted(address: string): boolean;
  /**
   * The client's address. Walks X-Forwarded-For from the right, past every trusted
   * hop, and stops at the first address that is not trusted: the addresses to its
   * left were written by a party the gateway cannot vouch for.
   */
  clientIp(peer: string, forwardedFor: string | undefined): string;
}

export function compileTrustProxy(setting: TrustProxyConfig): TrustProxy {
  if (setting === false) return { isTrusted: () => false, clientIp: (peer) => peer };
  if (setting === true) return new ListTrust(() => true);
  const list = new BlockList();
  for (const entry of setting) {
    const [address, bits] = entry.split("/") as [string, string | undefined];
    const family = isIP(address) === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return new ListTrust((address) => {
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 6 ? "ipv6" : "ipv4");
  });
}

class ListTrust implements TrustProxy {
  constructor(readonly isTrusted: (address: string) => boolean) {}

  clientIp(peer: string, forwardedFor: string | undefined): string {
    if (forwardedFor === undefined || !this.isTrusted(peer)) return peer;
    const hops = forwardedFor.split(",");
    let client = peer;
    for (let index = hops.length - 1; index >= 0; index--) {
      const hop = normalizeAddress((hops[index] as string).trim());
      if (isIP(hop) === 0) return client;
      client = hop;
      if (!this.isTrusted(hop)) return hop;
    }
    return client;
  }
}

/** Presents IPv4 clients of a dual-stack listener ("::ffff:10.0.0.1") as plain IPv4. */
export function normalizeAddress(address: string | undefined): string {
  if (address === undefined) return "";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}
