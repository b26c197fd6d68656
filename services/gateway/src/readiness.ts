/**
 * Whether this instance should receive traffic. Several parts gate it (the gateway
 * listener now; the recorder and the control-plane catch-up later), each under its
 * own name, and the instance is ready only when every gate is open.
 */
export class Readiness {
  private readonly gates = new Map<string, { ready: boolean; detail: string }>();

  set(gate: string, ready: boolean, detail = ""): void {
    this.gates.set(gate, { ready, detail });
  }

  get ready(): boolean {
    if (this.gates.size === 0) return false;
    for (const gate of this.gates.values()) if (!gate.ready) return false;
    return true;
  }

  report(): Record<string, { ready: boolean; detail: string }> {
    return Object.fromEntries(this.gates);
  }
}
