/**
 * Parsing wrk's output. The bench runs wrk with `--latency` and with a Lua script that
 * only defines `done()` (so it costs nothing per request) and prints one JSON line with
 * exact percentiles in microseconds. The text report is parsed too: it is the fallback
 * when the JSON line is missing and a cross-check of the request count.
 */

export interface WrkErrors {
  connect: number;
  read: number;
  write: number;
  timeout: number;
}

export interface WrkResult {
  /** Responses wrk completed. Requests still in flight when wrk stopped are not counted. */
  requests: number;
  durationS: number;
  requestsPerSec: number;
  /** Latency percentiles in microseconds; p999 is NaN when only the text report was available. */
  latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number };
  errors: WrkErrors;
  /** Responses with a status outside 2xx and 3xx. */
  non2xx3xx: number;
  /** Where the percentiles came from. */
  percentileSource: "lua" | "text";
}

/** The Lua script given to wrk with `-s`. */
export const wrkDoneScript = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_JSON {\\"requests\\":%.0f,\\"durationUs\\":%.0f,\\"connect\\":%.0f,\\"read\\":%.0f,\\"write\\":%.0f,\\"status\\":%.0f,\\"timeout\\":%.0f,\\"p50\\":%.0f,\\"p90\\":%.0f,\\"p99\\":%.0f,\\"p999\\":%.0f,\\"max\\":%.0f}\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max))
end
`;

const timeUnitsUs: Record<string, number> = { us: 1, ms: 1_000, s: 1_000_000, m: 60_000_000, h: 3_600_000_000 };

/** wrk's time notation ("512.00us", "1.20ms", "2.00s", "1.00m") in microseconds. */
export function parseWrkTimeUs(text: string): number {
  const match = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(us|ms|s|m|h)\s*$/.exec(text);
  if (!match) throw new Error(`not a wrk time: ${JSON.stringify(text)}`);
  return Number(match[1]) * timeUnitsUs[match[2]!]!;
}

interface WrkJsonLine {
  requests: number;
  durationUs: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

function parseJsonLine(output: string): WrkJsonLine | null {
  const match = /^WRK_JSON (\{.*\})\s*$/m.exec(output);
  if (!match) return null;
  const value = JSON.parse(match[1]!) as Record<string, unknown>;
  const keys: (keyof WrkJsonLine)[] = ["requests", "durationUs", "connect", "read", "write", "status", "timeout", "p50", "p90", "p99", "p999", "max"];
  for (const key of keys) {
    if (typeof value[key] !== "number") throw new Error(`wrk JSON line lacks a numeric ${key}`);
  }
  return value as unknown as WrkJsonLine;
}

function distribution(output: string): Map<number, number> {
  const result = new Map<number, number>();
  const lines = output.split("\n");
  const start = lines.findIndex((line) => line.trim() === "Latency Distribution");
  if (start < 0) return result;
  for (const line of lines.slice(start + 1)) {
    const match = /^\s*([0-9.]+)%\s+(\S+)\s*$/.exec(line);
    if (!match) break;
    result.set(Number(match[1]), parseWrkTimeUs(match[2]!));
  }
  return result;
}

/** Parses wrk's stdout. Throws when the summary line ("N requests in T") is missing. */
export function parseWrkOutput(output: string): WrkResult {
  const summary = /^\s*(\d+) requests in ([0-9.]+(?:us|ms|s|m|h)),/m.exec(output);
  if (!summary) throw new Error(`wrk output has no summary line:\n${output}`);
  const textRequests = Number(summary[1]);
  const textDurationS = parseWrkTimeUs(summary[2]!) / 1e6;
  const rpsMatch = /^Requests\/sec:\s*([0-9.]+)/m.exec(output);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  const json = parseJsonLine(output);

  if (json) {
    if (json.requests !== textRequests) throw new Error(`wrk reports ${textRequests} requests in text but ${json.requests} in JSON`);
    const durationS = json.durationUs / 1e6;
    return {
      requests: json.requests,
      durationS,
      requestsPerSec: durationS > 0 ? json.requests / durationS : 0,
      latencyUs: { p50: json.p50, p90: json.p90, p99: json.p99, p999: json.p999, max: json.max },
      errors: { connect: json.connect, read: json.read, write: json.write, timeout: json.timeout },
      non2xx3xx: json.status,
      percentileSource: "lua",
    };
  }

  const dist = distribution(output);
  const maxMatch = /^\s*Latency\s+\S+\s+\S+\s+(\S+)/m.exec(output);
  return {
    requests: textRequests,
    durationS: textDurationS,
    requestsPerSec: rpsMatch ? Number(rpsMatch[1]) : textRequests / textDurationS,
    latencyUs: {
      p50: dist.get(50) ?? Number.NaN,
      p90: dist.get(90) ?? Number.NaN,
      p99: dist.get(99) ?? Number.NaN,
      p999: Number.NaN,
      max: maxMatch ? parseWrkTimeUs(maxMatch[1]!) : Number.NaN,
    },
    errors: socket
      ? { connect: Number(socket[1]), read: Number(socket[2]), write: Number(socket[3]), timeout: Number(socket[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
    non2xx3xx: non2xx ? Number(non2xx[1]) : 0,
    percentileSource: "text",
  };
}
