export interface NginxStubStatus {
  active: number;
  accepts: number;
  handled: number;
  /** Requests served since nginx started, this status request included. */
  requests: number;
}

/** Parses the page of nginx's stub_status module. */
export function parseNginxStubStatus(text: string): NginxStubStatus {
  const active = /Active connections:\s*(\d+)/.exec(text);
  const counters = /server accepts handled requests\s*\n\s*(\d+)\s+(\d+)\s+(\d+)/.exec(text);
  if (!active || !counters) throw new Error(`not an nginx stub_status page: ${JSON.stringify(text.slice(0, 120))}`);
  return { active: Number(active[1]), accepts: Number(counters[1]), handled: Number(counters[2]), requests: Number(counters[3]) };
}
