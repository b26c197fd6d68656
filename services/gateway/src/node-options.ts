/**
 * The V8 flags every launcher of the gateway passes (`tollgate start`, docker-compose,
 * the benchmarks).
 *
 * V8 sizes how far the old generation may grow between full collections by the heap
 * limit. Left at Node's default (a quarter of the machine's memory, over 4 GB here), it
 * lets garbage pile up to about 100 MB between collections under load, and the
 * process's RSS reaches 250 MB with a live heap of 25 MB. With a limit of 512 MB or
 * less, V8 treats memory as constrained and collects at about twice the live size; the
 * RSS then stays under 180 MB, at no cost in throughput. 512 MB leaves the in-memory
 * response cache and the identity index room to grow. (docs/decisions.md §16)
 */
export const gatewayNodeOptions: readonly string[] = ["--max-old-space-size=512"];
