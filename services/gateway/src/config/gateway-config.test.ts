import { fileURLToPath } from "node:url";
import { ConfigError, parseConfig } from "@tollgate/config";
import { describe, expect, it } from "vitest";
import { GatewayConfig } from "./gateway-config.js";
import { loadGatewayConfig } from "./load-gateway-config.js";

function problems(raw: unknown): readonly string[] {
  try {
    parseConfig(GatewayConfig, raw, "test");
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("GatewayConfig", () => {
  it("has a default for every setting, so an empty config is valid", () => {
    const config = parseConfig(GatewayConfig, {});
    expect(config).toMatchObject({
      logLevel: "info",
      listen: { host: "0.0.0.0", port: 8080 },
      status: { host: "127.0.0.1", port: 8081 },
      trustProxy: false,
      accessLog: "errors",
      shutdownGraceMs: 10_000,
      limits: { maxHeaderBytes: 16_384, headersTimeoutMs: 20_000, requestTimeoutMs: 300_000, keepAliveTimeoutMs: 5_000 },
      eventStore: { kind: "sqlite", file: "./data/events.db", synchronous: "normal" },
      recorder: { flushIntervalMs: 10 },
      upstreams: {},
      routes: [],
    });
    expect(config.gatewayId).toMatch(/^gw-[a-z0-9][a-z0-9._-]*$/);
  });

  it("fills upstream and route defaults", () => {
    const config = parseConfig(GatewayConfig, {
      upstreams: { demo: { targets: ["http://127.0.0.1:9000"] } },
      routes: [{ id: "demo", match: { pathPrefix: "/demo/", hosts: ["API.Example.com"] }, upstream: "demo" }],
    });
    expect(config.upstreams.demo).toEqual({
      targets: [{ url: "http://127.0.0.1:9000", weight: 1 }],
      balancing: { algorithm: "round-robin", hashOn: "consumer" },
      healthChecks: { passive: { consecutiveFailures: 5, ejectionMs: 10_000 } },
      circuitBreaker: { enabled: false, errorThresholdPercentage: 50, volumeThreshold: 20, resetTimeoutMs: 10_000, rollingWindowMs: 10_000 },
      connections: 128,
      pipelining: 1,
      keepAliveTimeoutMs: 4_000,
      connectTimeoutMs: 5_000,
      headersTimeoutMs: 30_000,
      bodyTimeoutMs: 30_000,
    });
    expect(config.routes[0]).toEqual({
      id: "demo",
      match: { pathPrefix: "/demo", hosts: ["api.example.com"], methods: [] },
      upstream: "demo",
      stripPrefix: false,
      timeouts: {},
      retries: { attempts: 0, backoffBaseMs: 25, backoffMaxMs: 250, budgetRatio: 0.2, budgetMinPerSecond: 3 },
      ipFilter: { allow: [], deny: [] },
      headerRules: { required: [], forbidden: [] },
      auth: [],
    });
  });

  it("fills auth defaults: an API key in x-api-key, authorization requiring a subscription", () => {
    const config = parseConfig(GatewayConfig, {
      upstreams: { demo: { targets: ["http://127.0.0.1:9000"] } },
      routes: [
        { id: "keyed", match: { pathPrefix: "/keyed" }, upstream: "demo", auth: [{ type: "api-key" }] },
        {
          id: "scoped",
          match: { pathPrefix: "/scoped" },
          upstream: "demo",
          auth: [{ type: "api-key", header: "X-Key", queryParam: "api_key" }],
          authorization: { scopes: ["orders:read"] },
        },
      ],
    });
    expect(config.routes[0]?.auth).toEqual([{ type: "api-key", header: "x-api-key", queryParam: null, hideCredential: true, realm: "tollgate" }]);
    expect(config.routes[0]?.authorization).toBeUndefined();
    expect(config.routes[1]?.auth[0]).toMatchObject({ header: "x-key", queryParam: "api_key" });
    expect(config.routes[1]?.authorization).toEqual({ requireSubscription: true, scopes: ["orders:read"] });
    expect(config.identity).toEqual({ consumerIdHeader: "x-consumer-id", planIdHeader: "x-plan-id", pollIntervalMs: 100, startupWaitMs: 10_000 });
  });

  it("refuses request policy and authenticator settings that cannot work, each with its path and reason", () => {
    expect(
      problems({
        ipFilter: { deny: ["10.0.0.0/33"] },
        secretKeys: { keys: { k1: "c2hvcnQ=" } },
        upstreams: { demo: { targets: ["http://127.0.0.1:9000"] } },
        routes: [
          {
            id: "a",
            match: { pathPrefix: "/a" },
            upstream: "demo",
            ipFilter: { allow: ["fd00::/129"] },
            headerRules: { required: [{ name: "x-tenant", pattern: "(" }], forbidden: ["x-debug"] },
          },
          {
            id: "b",
            match: { pathPrefix: "/b" },
            upstream: "demo",
            auth: [{ type: "jwt", issuers: [{ issuer: "https://idp.example.com/", jwksUrl: "http://idp.example.com/jwks", audiences: ["orders"], algorithms: ["HS256"] }] }],
          },
          {
            id: "c",
            match: { pathPrefix: "/c" },
            upstream: "demo",
            auth: [{ type: "introspection", endpoint: "http://as.example.com/introspect", issuer: "as", clientId: "gw", clientSecret: "s" }],
          },
        ],
      }),
    ).toEqual([
      "routes[0].ipFilter.allow[0]: expected an IP address or a CIDR range (IPv4 or IPv6)",
      "routes[0].headerRules.required[0].pattern: not a valid regular expression",
      expect.stringMatching(/^routes\[1\]\.auth\[0\]\.issuers\[0\]\.algorithms\[0\]: Invalid option: expected one of "RS256"/),
      "routes[2].auth[0].endpoint: endpoint must use https (plain http is accepted for loopback hosts, or with allowInsecureHttp: true)",
      "ipFilter.deny[0]: expected an IP address or a CIDR range (IPv4 or IPv6)",
      "secretKeys.keys.k1: must decode to exactly 32 bytes",
    ]);
    expect(
      problems({
        upstreams: { demo: { targets: ["http://127.0.0.1:9000"] } },
        routes: [
          { id: "a", match: { pathPrefix: "/a" }, upstream: "demo", auth: [{ type: "basic" }, { type: "hmac" }] },
        ],
      }),
    ).toEqual([
      "routes[0].auth[1].type: hmac needs secretKeys: the keys the control plane seals HMAC signing secrets with",
    ]);
  });

  it("refuses auth settings that cannot work, each with its path", () => {
    expect(
      problems({
        identity: { consumerIdHeader: "X-Forwarded-For", planIdHeader: "x-plan" },
        upstreams: { demo: { targets: ["http://127.0.0.1:9000"] } },
        routes: [
          { id: "a", match: { pathPrefix: "/a" }, upstream: "demo", authorization: { scopes: [] } },
          { id: "b", match: { pathPrefix: "/b" }, upstream: "demo", auth: [{ type: "api-key", header: null }] },
          { id: "c", match: { pathPrefix: "/c" }, upstream: "demo", auth: [{ type: "apikey" }] },
        ],
      }),
    ).toEqual([
      "routes[1].auth[0].header: set header, queryParam or both: the key has to come from somewhere",
      "routes[2].auth[0].type: Invalid discriminator value. Expected 'api-key' | 'jwt' | 'introspection' | 'basic' | 'hmac'",
      "identity.consumerIdHeader: this header is managed by the gateway itself",
    ]);
    expect(
      problems({
        identity: { planIdHeader: "x-api-key" },
        upstreams: { demo: { targets: ["http://127.0.0.1:9000"] } },
        routes: [
          { id: "a", match: { pathPrefix: "/a" }, upstream: "demo", authorization: { scopes: [] } },
          { id: "b", match: { pathPrefix: "/b" }, upstream: "demo", auth: [{ type: "api-key" }] },
        ],
      }),
    ).toEqual([
      "routes[0].authorization: authorization needs auth: list how callers authenticate",
      'routes[1].auth[0].header: "x-api-key" is an identity header (identity.*Header), removed from every request before authentication',
    ]);
  });

  it("lists every problem with its path in one go", () => {
    expect(
      problems({
        listen: { port: 70_000 },
        trustProxy: ["10.0.0.0/33"],
        accesslog: "all",
        limits: { headersTimeoutMs: 10_000, requestTimeoutMs: 5_000 },
        upstreams: {
          demo: { targets: ["http://127.0.0.1:9000/api"] },
          empty: { targets: [] },
        },
        routes: [
          { id: "a", match: { pathPrefix: "/a" }, upstream: "demo" },
          { id: "b", match: { pathPrefix: "b/../c", methods: ["get"] }, upstream: "demo" },
        ],
      }),
    ).toEqual([
      "listen.port: Too big: expected number to be <=65535",
      "trustProxy[0]: expected an IP address or a CIDR range",
      "upstreams.demo.targets[0].url: must be an origin (scheme://host[:port]) without path, query or credentials",
      "upstreams.empty.targets: Too small: expected array to have >=1 items",
      'routes[1].match.pathPrefix: must start with "/"',
      "routes[1].match.methods[0]: expected an upper-case HTTP method such as GET",
      "accesslog: unknown field",
      "limits.headersTimeoutMs: must not exceed limits.requestTimeoutMs (5000)",
    ]);
  });

  it("reports an unknown upstream with the route's path", () => {
    expect(
      problems({
        upstreams: { demo: { targets: ["http://127.0.0.1:9000"] } },
        routes: [
          { id: "a", match: { pathPrefix: "/a" }, upstream: "demo" },
          { id: "b", match: { pathPrefix: "/b" }, upstream: "demo" },
          { id: "c", match: { pathPrefix: "/c" }, upstream: "billing" },
        ],
      }),
    ).toEqual(['routes[2].upstream: unknown upstream "billing"']);
  });

  it("reports duplicate route ids and routes that match the same requests", () => {
    expect(
      problems({
        upstreams: { demo: { targets: ["http://127.0.0.1:9000"] } },
        routes: [
          { id: "a", match: { pathPrefix: "/a", methods: ["GET", "POST"] }, upstream: "demo" },
          { id: "a", match: { pathPrefix: "/b" }, upstream: "demo" },
          { id: "c", match: { pathPrefix: "/a/", methods: ["POST"] }, upstream: "demo" },
          { id: "d", match: { pathPrefix: "/a", methods: ["DELETE"] }, upstream: "demo" },
          { id: "e", match: { pathPrefix: "/h", hosts: ["x.test"] }, upstream: "demo" },
          { id: "f", match: { pathPrefix: "/h", hosts: ["y.test", "X.test"] }, upstream: "demo" },
          { id: "g", match: { pathPrefix: "/h" }, upstream: "demo" },
        ],
      }),
    ).toEqual([
      'routes[1].id: duplicate route id "a" (also routes[0])',
      'routes[2].match: matches the same requests as routes[0] ("a"): same path prefix with overlapping hosts and methods',
      'routes[5].match: matches the same requests as routes[4] ("e"): same path prefix with overlapping hosts and methods',
    ]);
  });

  it("accepts trustProxy as true, false or a list of addresses and ranges", () => {
    for (const trustProxy of [true, false, ["10.0.0.0/8", "127.0.0.1", "::1", "fd00::/8"]]) {
      expect(parseConfig(GatewayConfig, { trustProxy }).trustProxy).toEqual(trustProxy);
    }
  });

  it("refuses route prefixes that are not normalized", () => {
    for (const pathPrefix of ["/a/../b", "/%7Ea", "/a\\b", "/a?x=1"]) {
      expect(problems({ upstreams: { u: { targets: ["http://x.test"] } }, routes: [{ id: "r", match: { pathPrefix }, upstream: "u" }] })[0]).toMatch(
        /^routes\[0\]\.match\.pathPrefix: /,
      );
    }
  });
});

describe("the example config", () => {
  const examplePath = fileURLToPath(new URL("../../tollgate.example.yaml", import.meta.url));

  it("parses", async () => {
    const config = await loadGatewayConfig(examplePath);
    expect(config.routes.length).toBeGreaterThan(0);
    expect(Object.keys(config.upstreams).length).toBeGreaterThan(0);
  });

  it("takes overrides from TOLLGATE_GATEWAY__ variables", async () => {
    const config = await loadGatewayConfig(examplePath, { TOLLGATE_GATEWAY__LISTEN__PORT: "0", TOLLGATE_GATEWAY__ACCESS_LOG: "all" });
    expect(config.listen.port).toBe(0);
    expect(config.accessLog).toBe("all");
  });
});
