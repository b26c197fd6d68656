/** Options of the gateway bench, from command-line flags, else TOLLGATE_BENCH_* variables, else defaults. */
export interface BenchOptions {
  /** Seconds of each measured load. */
  durationS: number;
  rounds: number;
  /** Requests per second of the open-loop shape. */
  rate: number;
  /** wrk connections of the saturation shape (and of the warmup). */
  connections: number;
  /** wrk threads. */
  threads: number;
  /** Most connections the open-loop generator may open. */
  openLoopConnections: number;
  /** Unmeasured saturation load before each arm's measurements. */
  warmupS: number;
  /** Pause between measurements. */
  settleS: number;
  /** Seconds of each slice of a saturation measurement: the arms take turns slice by slice. */
  sliceS: number;
  /** Arm keys or names to run (null: all). */
  arms: string[] | null;
  order: "fixed" | "shuffle";
  /** Deep-merged into the generated gateway config (JSON object), for benchmarks of policies. */
  gatewayConfigExtra: Record<string, unknown> | null;
  /** Extra Node flags for the gateway process (--cpu-prof, --trace-gc, ...), split on spaces. */
  gatewayNodeArgs: string[];
  /** Extra headers on every request, "Name: value". */
  headers: string[];
  /** Request path. */
  path: string;
  /** Where the raw JSON results go (null: a timestamped file in the OS temp folder). */
  out: string | null;
  keepTemp: boolean;
  /** Exit with status 1 when a target is missed. */
  strict: boolean;
  help: boolean;
}

export const benchUsage = `Usage: npm run bench -- [flags]        (or: node bench/dist/gateway-bench.js [flags])

  --duration <s>              seconds of each measured load                  (default 10)
  --rounds <n>                interleaved rounds                             (default 3)
  --rate <req/s>              open-loop rate                                 (default 2000)
  --connections <n>           wrk connections, saturation and warmup         (default 50)
  --threads <n>               wrk threads                                    (default 1)
  --open-loop-connections <n> most connections of the open-loop generator    (default 50)
  --warmup <s>                unmeasured saturation load per arm and round   (default 2)
  --settle <s>                pause between measurements                     (default 1)
  --slice <s>                 whole seconds per saturation slice: the arms of a round
                              take turns in slices of this length               (default 2)
  --arms <list>               subset, by key or name: A,B,C,D or direct,undici,nginx-proxy,tollgate
  --order fixed|shuffle       arm order within each round                    (default fixed)
  --gateway-config-extra <v>  JSON object, or a path to a JSON file, deep-merged into the gateway's config
  --gateway-node-args <flags> Node flags for the gateway process, e.g. "--cpu-prof --trace-gc"
                              (its output and profiles land in the kept temp folder: add --keep-temp)
  --header "Name: value"      extra request header (repeatable)
  --path </p>                 request path                                   (default /bench)
  --out <file>                raw results JSON                               (default: OS temp folder)
  --keep-temp                 keep configs, logs and the SQLite files
  --strict                    exit 1 when a target is missed
  --help

Every flag can also be given as TOLLGATE_BENCH_<FLAG> (e.g. TOLLGATE_BENCH_DURATION=3,
TOLLGATE_BENCH_ARMS=A,D); flags win. Repeated headers in the variable: separate with newlines.`;

export class BenchOptionsError extends Error {
  override name = "BenchOptionsError";
}

const booleanFlags = new Set(["keep-temp", "strict", "help"]);
const valueFlags = new Set([
  "duration",
  "rounds",
  "rate",
  "connections",
  "threads",
  "open-loop-connections",
  "warmup",
  "settle",
  "slice",
  "arms",
  "order",
  "gateway-config-extra",
  "gateway-node-args",
  "header",
  "path",
  "out",
]);

function envName(flag: string): string {
  return `TOLLGATE_BENCH_${flag.toUpperCase().replaceAll("-", "_")}`;
}

function positive(flag: string, raw: string, integer: boolean, allowZero = false): number {
  const value = Number(raw);
  const valid = Number.isFinite(value) && (allowZero ? value >= 0 : value > 0) && (!integer || Number.isInteger(value));
  if (raw.trim() === "" || !valid) throw new BenchOptionsError(`--${flag} must be a ${allowZero ? "non-negative" : "positive"} ${integer ? "integer" : "number"}, got ${JSON.stringify(raw)}`);
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Parses flags (`--name value` or `--name=value`) over TOLLGATE_BENCH_* variables.
 * `readFile` loads the file named by --gateway-config-extra when it is not inline JSON.
 */
export function parseBenchOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, readFile: (path: string) => string): BenchOptions {
  const given = new Map<string, string[]>();
  for (const flag of [...valueFlags, ...booleanFlags]) {
    const value = env[envName(flag)];
    if (value !== undefined && value !== "") given.set(flag, flag === "header" ? value.split("\n").filter((h) => h.trim() !== "") : [value]);
  }
  const fromArgs = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) throw new BenchOptionsError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf("=");
    const flag = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    let value: string;
    if (booleanFlags.has(flag)) {
      value = eq < 0 ? "true" : arg.slice(eq + 1);
    } else if (valueFlags.has(flag)) {
      if (eq >= 0) value = arg.slice(eq + 1);
      else {
        const next = argv[i + 1];
        if (next === undefined) throw new BenchOptionsError(`--${flag} needs a value`);
        value = next;
        i++;
      }
    } else {
      throw new BenchOptionsError(`unknown flag --${flag}`);
    }
    fromArgs.set(flag, [...(fromArgs.get(flag) ?? []), value]);
  }
  for (const [flag, values] of fromArgs) given.set(flag, values);

  const last = (flag: string): string | undefined => given.get(flag)?.at(-1);
  const bool = (flag: string): boolean => {
    const value = last(flag);
    if (value === undefined) return false;
    if (["1", "true", "yes"].includes(value)) return true;
    if (["0", "false", "no"].includes(value)) return false;
    throw new BenchOptionsError(`--${flag} takes no value (or true/false), got ${JSON.stringify(value)}`);
  };
  const num = (flag: string, fallback: number, integer: boolean, allowZero = false): number => {
    const value = last(flag);
    return value === undefined ? fallback : positive(flag, value, integer, allowZero);
  };

  const order = last("order") ?? "fixed";
  if (order !== "fixed" && order !== "shuffle") throw new BenchOptionsError(`--order must be fixed or shuffle, got ${JSON.stringify(order)}`);

  let gatewayConfigExtra: Record<string, unknown> | null = null;
  const extra = last("gateway-config-extra");
  if (extra !== undefined) {
    const text = extra.trimStart().startsWith("{") ? extra : readFile(extra);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new BenchOptionsError(`--gateway-config-extra is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!isPlainObject(parsed)) throw new BenchOptionsError("--gateway-config-extra must be a JSON object");
    gatewayConfigExtra = parsed;
  }

  const headers = given.get("header") ?? [];
  for (const header of headers) {
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+:/.test(header)) throw new BenchOptionsError(`--header must look like "Name: value", got ${JSON.stringify(header)}`);
  }

  const path = last("path") ?? "/bench";
  if (!path.startsWith("/")) throw new BenchOptionsError(`--path must start with /, got ${JSON.stringify(path)}`);

  const armsValue = last("arms");
  const arms = armsValue === undefined ? null : armsValue.split(",").map((a) => a.trim()).filter((a) => a !== "");
  if (arms !== null && arms.length === 0) throw new BenchOptionsError("--arms needs at least one arm");

  const connections = num("connections", 50, true);
  const threads = num("threads", 1, true);
  if (threads > connections) throw new BenchOptionsError(`--threads (${threads}) cannot exceed --connections (${connections})`);

  return {
    durationS: num("duration", 10, false),
    rounds: num("rounds", 3, true),
    rate: num("rate", 2000, false),
    connections,
    threads,
    openLoopConnections: num("open-loop-connections", 50, true),
    warmupS: num("warmup", 2, false, true),
    settleS: num("settle", 1, false, true),
    sliceS: num("slice", 2, true),
    arms,
    order,
    gatewayConfigExtra,
    gatewayNodeArgs: (last("gateway-node-args") ?? "").split(" ").filter((a) => a !== ""),
    headers,
    path,
    out: last("out") ?? null,
    keepTemp: bool("keep-temp"),
    strict: bool("strict"),
    help: bool("help"),
  };
}
