import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ApiKeyPolicyConfig } from "./api-key/api-key-policy-config.js";
import { AuthorizationPolicyConfig } from "./authorization/authorization-policy-config.js";
import { BasicAuthenticatorConfig } from "./basic/basic-policy-config.js";
import { HeaderRulesConfig } from "./header-rules/header-rules-config.js";
import { HmacAuthenticatorConfig } from "./hmac/hmac-policy-config.js";
import { SecretKeysConfig } from "./hmac/secret-keys-config.js";
import { IntrospectionAuthenticatorConfig } from "./introspection/introspection-policy-config.js";
import { IpFilterConfig } from "./ip-filter/ip-filter-config.js";
import { JwtAuthenticatorConfig } from "./jwt/jwt-policy-config.js";
import { AuthenticatorConfig, RouteAuthConfig, RouteAuthorizationConfig, RouteHeaderRulesConfig, RouteIpFilterConfig } from "./route-auth-config.js";

/** The schema of each authentication and access-control policy, from its own folder. */
const policySchemas: Record<string, z.ZodType> = {
  "api-key": ApiKeyPolicyConfig,
  jwt: JwtAuthenticatorConfig,
  introspection: IntrospectionAuthenticatorConfig,
  basic: BasicAuthenticatorConfig,
  hmac: HmacAuthenticatorConfig,
  "hmac secretKeys": SecretKeysConfig,
  "ip-filter": IpFilterConfig,
  "header-rules": HeaderRulesConfig,
  authorization: AuthorizationPolicyConfig,
};

interface WrapperDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  options?: readonly z.ZodType[];
  valueType?: z.ZodType;
}

const defOf = (schema: z.ZodType): WrapperDef => schema._zod.def;

interface FieldFacts {
  description: string | undefined;
  hasDefault: boolean;
  optional: boolean;
  /** The object schemas the field holds (itself, its array elements, its union members), to check in turn. */
  nested: z.ZodType[];
}

/** Unwraps default, prefault, optional, nullable, readonly and pipe (a transform), outermost description first. */
function factsOf(field: z.ZodType): FieldFacts {
  const facts: FieldFacts = { description: undefined, hasDefault: false, optional: false, nested: [] };
  let current: z.ZodType | undefined = field;
  while (current !== undefined) {
    facts.description ??= z.globalRegistry.get(current)?.description;
    const def = defOf(current);
    if (def.type === "default" || def.type === "prefault") facts.hasDefault = true;
    if (def.type === "optional") facts.optional = true;
    if (["default", "prefault", "optional", "nullable", "readonly"].includes(def.type)) current = def.innerType;
    else if (def.type === "pipe") current = def.in;
    else break;
  }
  if (current !== undefined) facts.nested.push(...objectsIn(current));
  return facts;
}

function objectsIn(schema: z.ZodType): z.ZodType[] {
  const def = defOf(schema);
  if (def.type === "object") return [schema];
  if (def.type === "array" && def.element !== undefined) return objectsIn(unwrap(def.element));
  if (def.type === "record" && def.valueType !== undefined) return objectsIn(unwrap(def.valueType));
  if (def.type === "union" && def.options !== undefined) return def.options.flatMap((option) => objectsIn(unwrap(option)));
  return [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  const def = defOf(schema);
  if (def.innerType !== undefined) return unwrap(def.innerType);
  if (def.type === "pipe" && def.in !== undefined) return unwrap(def.in);
  return schema;
}

/**
 * Every field of `schema` and of the objects nested in it that lacks a description, or
 * lacks a default without being optional, the `type` discriminator, or documented as
 * "Required." (a JWKS URL or an introspection endpoint has no sensible default).
 */
function undocumentedFields(schema: z.ZodType, path: string): string[] {
  const problems: string[] = [];
  for (const object of objectsIn(unwrap(schema))) {
    for (const [name, field] of Object.entries(defOf(object).shape ?? {})) {
      const facts = factsOf(field);
      const at = `${path}.${name}`;
      if (facts.description === undefined || facts.description.trim() === "") problems.push(`${at}: no description`);
      else if (!facts.hasDefault && !facts.optional && name !== "type" && !facts.description.startsWith("Required.")) {
        problems.push(`${at}: no default, and not documented as "Required."`);
      }
      for (const nested of facts.nested) problems.push(...undocumentedFields(nested, at));
    }
  }
  return problems;
}

describe("authentication and access-control policy schemas", () => {
  it("describe every field, nested ones included, and give every optional setting a default", () => {
    const problems = Object.entries(policySchemas).flatMap(([name, schema]) => undocumentedFields(schema, name));
    expect(problems).toEqual([]);
  });

  it("(the check itself) finds a field without a description or a default, however deeply nested", () => {
    const careless = z.strictObject({
      a: z.string(),
      b: z.number().describe("b"),
      c: z
        .array(z.strictObject({ d: z.boolean().default(true), e: z.string().transform((value) => value.trim()).describe("e") }))
        .default([])
        .describe("c"),
    });
    expect(undocumentedFields(careless, "careless")).toEqual([
      "careless.a: no description",
      'careless.b: no default, and not documented as "Required."',
      "careless.c.d: no description",
      'careless.c.e: no default, and not documented as "Required."',
    ]);
  });

  it("are the ones a route's auth list, authorization, ipFilter and headerRules accept", () => {
    expect(defOf(AuthenticatorConfig).options?.map((option) => (defOf(option).shape?.type as z.ZodLiteral<string>).value)).toEqual(["api-key", "jwt", "introspection", "basic", "hmac"]);
    expect(RouteAuthConfig.parse(undefined)).toEqual([]);
    expect(RouteAuthorizationConfig.parse({})).toEqual({ requireSubscription: true, scopes: [] });
    expect(RouteIpFilterConfig.parse(undefined)).toEqual({ allow: [], deny: [] });
    expect(RouteHeaderRulesConfig.parse(undefined)).toEqual({ required: [], forbidden: [] });
  });

  it("fill in every default from the smallest valid config", () => {
    expect(ApiKeyPolicyConfig.parse({ type: "api-key" })).toEqual({ type: "api-key", header: "x-api-key", queryParam: null, hideCredential: true, realm: "tollgate" });
    expect(BasicAuthenticatorConfig.parse({ type: "basic" })).toEqual({ type: "basic", realm: "tollgate", hideCredential: true, cache: { ttlMs: 60_000, maxEntries: 10_000 } });
    expect(HmacAuthenticatorConfig.parse({ type: "hmac" })).toEqual({
      type: "hmac",
      maxClockSkewSeconds: 300,
      requiredSignedHeaders: ["host"],
      nonceCacheMaxEntries: 100_000,
      maxBodyBytes: 1_048_576,
      realm: "tollgate",
      hideCredential: true,
    });
    const jwt = JwtAuthenticatorConfig.parse({ type: "jwt", issuers: [{ issuer: "https://id.test/", jwksUrl: "https://id.test/jwks.json", audiences: ["api"] }] });
    expect(jwt).toEqual({
      type: "jwt",
      issuers: [{ issuer: "https://id.test/", jwksUrl: "https://id.test/jwks.json", audiences: ["api"], algorithms: ["RS256"], allowInsecureHttp: false }],
      clockSkewSeconds: 30,
      requireExpiry: true,
      identityClaims: ["sub"],
      realm: "tollgate",
      jwks: { cacheMaxAgeMs: 600_000, cooldownMs: 30_000, timeoutMs: 5_000 },
      hideCredential: true,
    });
    const introspection = IntrospectionAuthenticatorConfig.parse({
      type: "introspection",
      endpoint: "https://as.test/introspect",
      issuer: "https://as.test",
      clientId: "gateway",
      clientSecret: "s",
    });
    expect(introspection).toMatchObject({ identityClaims: ["client_id"], audiences: [], cacheTtlMs: 60_000, cacheMaxEntries: 10_000, timeoutMs: 2_000, connections: 16 });
  });

  it("cannot be configured to accept alg none or an HMAC algorithm for JWKS-verified tokens", () => {
    for (const algorithm of ["none", "HS256", "HS384", "HS512"]) {
      const parsed = JwtAuthenticatorConfig.safeParse({
        type: "jwt",
        issuers: [{ issuer: "https://id.test/", jwksUrl: "https://id.test/jwks.json", audiences: ["api"], algorithms: [algorithm] }],
      });
      expect(parsed.success, algorithm).toBe(false);
    }
  });
});
