import { describe, expect, it } from "vitest";
import { HeaderRulesConfig } from "./header-rules-config.js";
import { compileHeaderRules, type HeaderRules } from "./header-rules.js";

const rules = (config: Record<string, unknown>): HeaderRules => compileHeaderRules(HeaderRulesConfig.parse(config));

describe("header rules", () => {
  describe("happy", () => {
    it("passes a request that carries the required headers with allowed values and none of the forbidden ones", () => {
      const policy = rules({ required: [{ name: "X-Tenant", pattern: "[a-z0-9-]{1,32}" }, { name: "x-request-source" }], forbidden: ["X-Debug"] });
      expect(policy.check({ "x-tenant": "acme-eu", "x-request-source": "mobile" })).toEqual({ ok: true });
    });

    it("checks nothing when no rule is configured", () => {
      const policy = rules({});
      expect(policy.empty).toBe(true);
      expect(policy.check({})).toEqual({ ok: true });
    });

    it("checks every value of a repeated header", () => {
      const policy = rules({ required: [{ name: "x-flag", pattern: "on|off" }] });
      expect(policy.check({ "x-flag": ["on", "off"] })).toEqual({ ok: true });
      expect(policy.check({ "x-flag": ["on", "maybe"] })).toMatchObject({ ok: false, header: "x-flag" });
    });
  });

  describe("error", () => {
    it("refuses a missing or empty required header with 400, naming it", () => {
      const policy = rules({ required: [{ name: "X-Tenant" }] });
      for (const headers of [{}, { "x-tenant": "" }, { "x-tenant": "   " }, { "x-tenant": [] }]) {
        expect(policy.check(headers)).toEqual({ ok: false, status: 400, reason: "header x-tenant is required", header: "x-tenant" });
      }
    });

    it("refuses a value that does not match the pattern in full", () => {
      const policy = rules({ required: [{ name: "x-tenant", pattern: "[a-z]+" }] });
      for (const value of ["ACME", "acme1", "acme\u0000", "1acme"]) {
        expect(policy.check({ "x-tenant": value })).toEqual({ ok: false, status: 400, reason: "header x-tenant has a value that is not allowed", header: "x-tenant" });
      }
      expect(policy.check({ "x-tenant": "acme" })).toEqual({ ok: true });
    });

    it("refuses a forbidden header, even empty, before looking at required ones", () => {
      const policy = rules({ required: [{ name: "x-tenant" }], forbidden: ["x-debug", "X-Internal-Token"] });
      expect(policy.check({ "x-debug": "" })).toEqual({ ok: false, status: 400, reason: "header x-debug is not allowed", header: "x-debug" });
      expect(policy.check({ "x-tenant": "a", "x-internal-token": "s3cret" })).toEqual({ ok: false, status: 400, reason: "header x-internal-token is not allowed", header: "x-internal-token" });
    });

    it("refuses config with a bad name, a bad pattern, or a header both required and forbidden", () => {
      expect(HeaderRulesConfig.safeParse({ forbidden: ["bad header"] }).success).toBe(false);
      expect(HeaderRulesConfig.safeParse({ required: [{ name: "x-a", pattern: "(" }] }).success).toBe(false);
      expect(HeaderRulesConfig.safeParse({ required: [{ name: "X-A" }], forbidden: ["x-a"] }).success).toBe(false);
    });
  });

  describe("security", () => {
    it("never puts a header's value in the reason", () => {
      const policy = rules({ required: [{ name: "x-api-version", pattern: "v[0-9]" }], forbidden: ["x-internal-token"] });
      const results = [policy.check({ "x-api-version": "Bearer s3cret" }), policy.check({ "x-internal-token": "s3cret", "x-api-version": "v1" })];
      for (const result of results) expect(JSON.stringify(result)).not.toContain("s3cret");
    });

    it("anchors the pattern, so an alternation cannot match a prefix", () => {
      expect(rules({ required: [{ name: "x-env", pattern: "prod|test" }] }).check({ "x-env": "production" })).toMatchObject({ ok: false });
    });
  });
});
