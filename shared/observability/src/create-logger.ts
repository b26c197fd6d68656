import { pino } from "pino";

export type Logger = pino.Logger;
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
export const logLevels: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/**
 * Field names whose values are never written, at any of the nesting depths that
 * `redactedPaths` covers. Header names are the lower-case forms Node gives them.
 */
export const secretFieldNames: readonly string[] = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "password",
  "secret",
  "token",
  "apiKey",
  "accessToken",
  "refreshToken",
  "clientSecret",
];

/** pino's redaction wildcards match exactly one level, so each name is listed at every depth up to this one. */
const redactionDepth = 4;

export const redactedPaths: readonly string[] = secretFieldNames.flatMap((name) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(name) ? name : `["${name}"]`;
  return Array.from({ length: redactionDepth + 1 }, (_, depth) => {
    if (depth === 0) return key.startsWith("[") ? key.slice(2, -2) : key;
    const prefix = Array.from({ length: depth }, () => "*").join(".");
    return key.startsWith("[") ? `${prefix}${key}` : `${prefix}.${key}`;
  });
});

export const redactionCensor = "[REDACTED]";

export interface CreateLoggerOptions {
  /** Logged as `name` on every line: the service or component. */
  name: string;
  level?: LogLevel;
  /**
   * Where lines go. Default: stdout through an asynchronous sonic-boom destination,
   * which keeps logging off the hot path. pino writes what is still buffered
   * synchronously when the process exits, so `process.exit` loses no line.
   */
  destination?: pino.DestinationStream;
}

/**
 * The one way services create a logger. Secrets are redacted by path (see
 * `secretFieldNames`), so a header map or a config object logged by mistake does
 * not leak an API key, a password or a token.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: false });
  return pino(
    {
      name: options.name,
      level: options.level ?? "info",
      redact: { paths: [...redactedPaths], censor: redactionCensor },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
