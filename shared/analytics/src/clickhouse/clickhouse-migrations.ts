import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { AnalyticsTables } from "../request-row.js";

/** infra/clickhouse/migrations, from shared/analytics/{src,dist}/clickhouse. */
export const defaultMigrationsDir = fileURLToPath(new URL("../../../../infra/clickhouse/migrations/", import.meta.url));

export interface Migration {
  name: string;
  statements: string[];
}

/** Reads the numbered .sql files in order, fills in the table names and splits them into statements. */
export async function loadClickHouseMigrations(tables: AnalyticsTables, dir = defaultMigrationsDir): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file)).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const text = (await readFile(`${dir}/${file}`, "utf8"))
      .split("\n")
      .filter((line) => !line.trimStart().startsWith("--"))
      .join("\n")
      .replace(/\{\{(requests|rollup|rollupView|checkpoints)\}\}/g, (_match, key: keyof AnalyticsTables) => tables[key]);
    if (/\{\{/.test(text)) throw new Error(`${file}: unknown placeholder`);
    const statements = text
      .split(/;\s*(?:\n|$)/)
      .map((statement) => statement.trim())
      .filter((statement) => statement.length > 0);
    migrations.push({ name: file.replace(/\.sql$/, ""), statements });
  }
  return migrations;
}
