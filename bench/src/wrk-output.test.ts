import { describe, expect, it } from "vitest";
import { parseWrkOutput, parseWrkTimeUs } from "./wrk-output.js";

// Captured from wrk 4.1.0 (Debian) against nginx on this machine.
const withLua = `Running 2s test @ http://127.0.0.1:18089/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   274.81us  173.66us   4.15ms   90.96%
    Req/Sec   128.22k    15.52k  145.04k    76.19%
  Latency Distribution
     50%  199.00us
     75%  367.00us
     90%  443.00us
     99%  681.00us
  267586 requests in 2.10s, 38.28MB read
Requests/sec: 127341.13
Transfer/sec:     18.22MB
WRK_JSON {"requests":267586,"durationUs":2101332,"connect":0,"read":0,"write":0,"status":0,"timeout":0,"p50":199,"p90":443,"p99":681,"p999":2439,"max":4148}
`;

const textOnlyWithErrors = `Running 3s test @ http://127.0.0.1:8080/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.61ms    1.10ms   1.02s    95.00%
    Req/Sec     9.80k     1.20k   11.00k    70.00%
  Latency Distribution
     50%    2.40ms
     75%    2.90ms
     90%    3.50ms
     99%    7.12ms
  58803 requests in 3.00s, 8.41MB read
  Socket errors: connect 0, read 3, write 1, timeout 12
  Non-2xx or 3xx responses: 17
Requests/sec:  19600.99
Transfer/sec:      2.80MB
`;

describe("parseWrkTimeUs", () => {
  it("converts every unit wrk prints to microseconds", () => {
    expect(parseWrkTimeUs("199.00us")).toBe(199);
    expect(parseWrkTimeUs("4.15ms")).toBeCloseTo(4150, 6);
    expect(parseWrkTimeUs("2.10s")).toBeCloseTo(2_100_000, 3);
    expect(parseWrkTimeUs("1.00m")).toBe(60_000_000);
    expect(parseWrkTimeUs("1h")).toBe(3_600_000_000);
  });

  it("rejects anything else", () => {
    expect(() => parseWrkTimeUs("12")).toThrow();
    expect(() => parseWrkTimeUs("1.2ns")).toThrow();
    expect(() => parseWrkTimeUs("-1ms")).toThrow();
  });
});

describe("parseWrkOutput", () => {
  it("prefers the exact figures of the Lua JSON line", () => {
    const result = parseWrkOutput(withLua);
    expect(result.percentileSource).toBe("lua");
    expect(result.requests).toBe(267586);
    expect(result.durationS).toBeCloseTo(2.101332, 6);
    expect(result.requestsPerSec).toBeCloseTo(267586 / 2.101332, 3);
    expect(result.latencyUs).toEqual({ p50: 199, p90: 443, p99: 681, p999: 2439, max: 4148 });
    expect(result.errors).toEqual({ connect: 0, read: 0, write: 0, timeout: 0 });
    expect(result.non2xx3xx).toBe(0);
  });

  it("falls back to the text report, with socket errors and non-2xx responses", () => {
    const result = parseWrkOutput(textOnlyWithErrors);
    expect(result.percentileSource).toBe("text");
    expect(result.requests).toBe(58803);
    expect(result.durationS).toBe(3);
    expect(result.requestsPerSec).toBeCloseTo(19600.99, 2);
    expect(result.latencyUs.p50).toBeCloseTo(2400, 6);
    expect(result.latencyUs.p90).toBeCloseTo(3500, 6);
    expect(result.latencyUs.p99).toBeCloseTo(7120, 6);
    expect(result.latencyUs.p999).toBeNaN();
    expect(result.latencyUs.max).toBeCloseTo(1_020_000, 3);
    expect(result.errors).toEqual({ connect: 0, read: 3, write: 1, timeout: 12 });
    expect(result.non2xx3xx).toBe(17);
  });

  it("takes the status error count from the JSON line", () => {
    const output = withLua.replace('"status":0', '"status":5');
    expect(parseWrkOutput(output).non2xx3xx).toBe(5);
  });

  it("refuses output without a summary line (wrk failed to run)", () => {
    expect(() => parseWrkOutput("unable to connect to 127.0.0.1:1 Connection refused\n")).toThrow(/no summary line/);
  });

  it("refuses a JSON line that disagrees with the text", () => {
    const output = withLua.replace('"requests":267586', '"requests":1');
    expect(() => parseWrkOutput(output)).toThrow(/267586/);
  });
});
