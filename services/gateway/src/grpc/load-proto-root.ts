import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

const require = createRequire(import.meta.url);

/**
 * The protos shipped with the gateway (google/api/annotations.proto and http.proto),
 * found whether the code runs from src/ (tests) or from dist/ (the built gateway):
 * both sit one level below the package root.
 */
export const shippedProtosDir = fileURLToPath(new URL("../../protos/", import.meta.url));

/**
 * protobufjs bundles the well-known types (timestamp, duration, wrappers, struct,
 * empty, any, field_mask) as "common" definitions it resolves by name; descriptor.proto,
 * which annotations.proto extends, is shipped as a file beside them.
 */
const descriptorProto = "google/protobuf/descriptor.proto";

/** A proto file that cannot be used: its message names the file and the reason. */
export class ProtoLoadError extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = "ProtoLoadError";
  }
}

const roots = new Map<string, protobuf.Root>();

/**
 * Loads a .proto file and its imports into one resolved protobufjs Root. Imports are
 * looked up beside the importing file, then in `includeDirs`, then among the shipped
 * protos, the way protoc's -I and @grpc/proto-loader's includeDirs work. Field names
 * are kept as written (keepCase): the JSON names are derived from them by the JSON
 * mapping, which honours json_name. Roots are cached by absolute path, so that the
 * config check and the route compilation parse a file once.
 */
export function loadProtoRoot(file: string, includeDirs: readonly string[] = []): protobuf.Root {
  const absolute = resolve(file);
  const key = `${absolute}\0${includeDirs.join("\0")}`;
  const cached = roots.get(key);
  if (cached !== undefined) return cached;
  if (!existsSync(absolute)) throw new ProtoLoadError(`proto file not found: ${absolute}`);
  const searchDirs = [...includeDirs.map((dir) => resolve(dir)), shippedProtosDir];
  const root = new protobuf.Root();
  root.resolvePath = (origin: string, target: string): string | null => {
    if (isAbsolute(target)) return target;
    const besideOrigin = origin === "" ? resolve(target) : join(dirname(origin), target);
    if (existsSync(besideOrigin)) return besideOrigin;
    for (const dir of searchDirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    if (target === descriptorProto) return require.resolve(`protobufjs/${descriptorProto}`);
    // Unresolved names reach protobufjs as written: it serves its common
    // (well-known) definitions by name and reports any other missing import.
    return target;
  };
  try {
    root.loadSync(absolute, { keepCase: true });
    root.resolveAll();
  } catch (error) {
    throw new ProtoLoadError(`${absolute}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  roots.set(key, root);
  return root;
}
