import { describe, expect, it } from "vitest";
import { compileTrustProxy, normalizeAddress } from "./trust-proxy.js";

describe("compileTrustProxy", () => {
  it("trusts nobody by default, whatever the client claims", () => {
    const trust = compileTrustProxy(false);
    expect(trust.isTrusted("127.0.0.1")).toBe(false);
    expect(trust.clientIp("203.0.113.9", "10.0.0.1")).toBe("203.0.113.9");
  });

  it("trusts listed addresses and ranges, IPv4 and IPv6", () => {
    const trust = compileTrustProxy(["10.0.0.0/8", "192.168.1.7", "fd00::/8"]);
    expect(trust.isTrusted("10.1.2.3")).toBe(true);
    expect(trust.isTrusted("192.168.1.7")).toBe(true);
    expect(trust.isTrusted("192.168.1.8")).toBe(false);
    expect(trust.isTrusted("fd12::1")).toBe(true);
    expect(trust.isTrusted("2001:db8::1")).toBe(false);
    expect(trust.isTrusted("not-an-ip")).toBe(false);
  });

  it("takes the rightmost untrusted hop as the client", () => {
    const trust = compileTrustProxy(["10.0.0.0/8"]);
    expect(trust.clientIp("10.0.0.2", "198.51.100.1, 203.0.113.5, 10.0.0.1")).toBe("203.0.113.5");
    expect(trust.clientIp("10.0.0.2", "10.0.0.3")).toBe("10.0.0.3");
    expect(trust.clientIp("10.0.0.2", undefined)).toBe("10.0.0.2");
    expect(trust.clientIp("203.0.113.9", "198.51.100.1")).toBe("203.0.113.9");
  });

  it("stops at a hop that is not an address", () => {
    const trust = compileTrustProxy(["10.0.0.0/8"]);
    expect(trust.clientIp("10.0.0.2", "<script>, 10.0.0.1")).toBe("10.0.0.1");
  });

  it("with true, trusts every hop and takes the leftmost address", () => {
    const trust = compileTrustProxy(true);
    expect(trust.clientIp("203.0.113.9", "198.51.100.1, 10.0.0.1")).toBe("198.51.100.1");
  });
});

describe("normalizeAddress", () => {
  it("unwraps IPv4-mapped IPv6 addresses", () => {
    expect(normalizeAddress("::ffff:127.0.0.1")).toBe("127.0.0.1");
    expect(normalizeAddress("::1")).toBe("::1");
    expect(normalizeAddress(undefined)).toBe("");
  });
});
