/**
 * A configuration that cannot be used. It lists every problem found, each as
 * `path: reason`, so that an operator fixes the file in one pass instead of one
 * error per restart.
 */
export class ConfigError extends Error {
  constructor(
    /** Where the configuration came from: a file path, or a label for in-memory input. */
    readonly source: string,
    /** Every problem, each formatted as `path: reason`. */
    readonly problems: readonly string[],
  ) {
    super(`invalid configuration in ${source}:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.name = "ConfigError";
  }
}
