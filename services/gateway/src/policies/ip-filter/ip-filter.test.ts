import { describe, expect, it } from "vitest";
import { IpFilterConfig } from "./ip-filter-config.js";
import { compileIpFilter, composeIpFilters, type IpFilter } from "./ip-filter.js";

const filter = (config: Record<string, unknown>): IpFilter => compileIpFilter(IpFilterConfig.parse(config));
const denied = { ok: false, status: 403, reason: "client address is on a deny list" };
const notAllowed = { ok: false, status: 403, reason: "client address is not on the allow list" };
const pass = { ok: true };

describe("IP filter", () => {
  describe("happy", () => {
    it("lets everyone through when no list is configured", () => {
      const open = filter({});
      expect(open.empty).toBe(true);
      expect(open.check("203.0.113.9")).toEqual(pass);
      expect(open.check("not an address")).toEqual(pass);
    });

    it("allows IPv4 addresses and CIDR ranges", () => {
      const allow = filter({ allow: ["10.0.0.0/8", "192.168.1.7"] });
      expect(allow.check("10.200.3.4")).toEqual(pass);
      expect(allow.check("192.168.1.7")).toEqual(pass);
      expect(allow.check("192.168.1.8")).toEqual(notAllowed);
      expect(allow.check("11.0.0.1")).toEqual(notAllowed);
    });

    it("allows IPv6 addresses and CIDR ranges, in any spelling", () => {
      const allow = filter({ allow: ["2001:db8::/32", "fe80::1"] });
      expect(allow.check("2001:db8:1234::5")).toEqual(pass);
      expect(allow.check("2001:0DB8:0:0:0:0:0:1")).toEqual(pass);
      expect(allow.check("[2001:db8::9]")).toEqual(pass);
      expect(allow.check("fe80::1%eth0")).toEqual(pass);
      expect(allow.check("2001:db9::1")).toEqual(notAllowed);
      expect(allow.check("10.0.0.1")).toEqual(notAllowed);
    });
  });

  describe("error", () => {
    it("denies IPv4 and IPv6 ranges, and deny wins over allow", () => {
      const lists = filter({ allow: ["10.0.0.0/8", "2001:db8::/32"], deny: ["10.66.0.0/16", "2001:db8:bad::/48"] });
      expect(lists.check("10.1.1.1")).toEqual(pass);
      expect(lists.check("10.66.1.1")).toEqual(denied);
      expect(lists.check("2001:db8:1::1")).toEqual(pass);
      expect(lists.check("2001:db8:bad::1")).toEqual(denied);
    });

    it("refuses an address it cannot read once any list is configured (fail closed)", () => {
      for (const address of ["", "unknown", "10.0.0", "::g"]) {
        expect(filter({ deny: ["192.0.2.0/24"] }).check(address)).toEqual({ ok: false, status: 403, reason: "client address is not an IP address" });
      }
    });

    it("refuses config that is not an address or a range", () => {
      for (const entry of ["10.0.0.0/33", "example.com", "10.0.0.1-10.0.0.9", "2001:db8::/129"]) {
        expect(IpFilterConfig.safeParse({ deny: [entry] }).success).toBe(false);
      }
    });
  });

  describe("security", () => {
    it("matches IPv4-mapped IPv6 clients (a dual-stack listener's peers) against IPv4 rules", () => {
      const lists = filter({ allow: ["10.0.0.0/8"], deny: ["10.66.0.0/16"] });
      expect(lists.check("::ffff:10.1.2.3")).toEqual(pass);
      expect(lists.check("::ffff:10.66.2.3")).toEqual(denied);
      expect(lists.check("::FFFF:a42:203")).toEqual(denied);
      expect(lists.check("0:0:0:0:0:ffff:10.66.2.3")).toEqual(denied);
      expect(lists.check("::ffff:11.0.0.1")).toEqual(notAllowed);
    });

    it("matches IPv4 clients against rules written in IPv4-mapped form", () => {
      const lists = filter({ deny: ["::ffff:192.0.2.0/120", "::ffff:198.51.100.7"] });
      expect(lists.check("192.0.2.55")).toEqual(denied);
      expect(lists.check("198.51.100.7")).toEqual(denied);
      expect(lists.check("::ffff:198.51.100.7")).toEqual(denied);
      expect(lists.check("198.51.100.8")).toEqual(pass);
    });

    it("does not take an IPv4-compatible or other embedded address for a mapped one", () => {
      const lists = filter({ deny: ["10.0.0.0/8"] });
      expect(lists.check("::10.1.2.3")).toEqual(pass);
      expect(lists.check("64:ff9b::10.1.2.3")).toEqual(pass);
    });
  });

  describe("composeIpFilters (global + route)", () => {
    const global = filter({ allow: ["10.0.0.0/8", "2001:db8::/32"], deny: ["10.99.0.0/16"] });

    it("a route narrows the global allow list but cannot widen it", () => {
      const route = composeIpFilters(global, filter({ allow: ["10.1.0.0/16", "192.168.0.0/16"] }));
      expect(route.check("10.1.2.3")).toEqual(pass);
      expect(route.check("10.2.2.3")).toEqual(notAllowed);
      expect(route.check("192.168.1.1")).toEqual(notAllowed);
    });

    it("a deny in either layer wins over an allow in the other", () => {
      expect(composeIpFilters(global, filter({ allow: ["10.99.1.0/24"] })).check("10.99.1.1")).toEqual(denied);
      expect(composeIpFilters(global, filter({ deny: ["10.1.2.3"] })).check("10.1.2.3")).toEqual(denied);
      expect(composeIpFilters(global, filter({ deny: ["2001:db8:1::/48"] })).check("2001:db8:1::7")).toEqual(denied);
    });

    it("an empty route layer leaves the global lists in force, and empty layers compose to empty", () => {
      expect(composeIpFilters(global, filter({})).check("10.99.0.1")).toEqual(denied);
      expect(composeIpFilters(filter({}), filter({})).empty).toBe(true);
    });

    it("only composes filters it compiled", () => {
      expect(() => composeIpFilters({ empty: true, check: () => ({ ok: true }) })).toThrow(TypeError);
    });
  });
  it("checks each address against its own family's rules: an IPv6 range never admits or refuses IPv4 clients", () => {
    const filter = compileIpFilter(IpFilterConfig.parse({ allow: ["::/64"], deny: ["::/0"] }));
    expect(filter.check("127.0.0.1")).toEqual({ ok: false, status: 403, reason: "client address is not on the allow list" });
    expect(compileIpFilter(IpFilterConfig.parse({ deny: ["::/0"] })).check("203.0.113.7")).toEqual({ ok: true });
    expect(compileIpFilter(IpFilterConfig.parse({ allow: ["0.0.0.0/0"] })).check("::1")).toMatchObject({ ok: false });
  });
});
