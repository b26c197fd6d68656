import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { gatewayNodeOptions } from "@tollgate/gateway/node-options";
import { createDemoUpstream } from "../demo-upstream.js";
import { ManagedProcess } from "../managed-process.js";

export interface StartPlatformOptions {
  gatewayConfig: string;
  controlPlaneConfig: string;
  quotaProjectorConfig: string;
  analyticsProjectorConfig: string;
  billingProjectorConfig: string;
  demoHost: string;
  demoPort: number;
}

/**
 * `tollgate start`: every service built so far, on embedded defaults, with a demo
 * upstream. Each service runs as its own process, as in production; this command only
 * supervises them: if one dies, it stops the others and exits non-zero.
 */
export async function startPlatform(options: StartPlatformOptions): Promise<number> {
  const demo = createDemoUpstream();
  demo.listen(options.demoPort, options.demoHost);
  await once(demo, "listening");
  console.log(`[demo-upstream] listening on http://${options.demoHost}:${options.demoPort}`);

  const services = [
    new ManagedProcess({
      name: "control-plane",
      script: fileURLToPath(import.meta.resolve("@tollgate/control-plane/main")),
      args: ["--config", options.controlPlaneConfig],
      isReady: (line) => line.msg === "listening",
    }),
    new ManagedProcess({
      name: "quota-projector",
      script: fileURLToPath(import.meta.resolve("@tollgate/quota-projector/main")),
      args: ["--config", options.quotaProjectorConfig],
      isReady: (line) => line.msg === "listening",
    }),
    new ManagedProcess({
      name: "analytics-projector",
      script: fileURLToPath(import.meta.resolve("@tollgate/analytics-projector/main")),
      args: ["--config", options.analyticsProjectorConfig],
      isReady: (line) => line.msg === "listening",
    }),
    new ManagedProcess({
      name: "billing-projector",
      script: fileURLToPath(import.meta.resolve("@tollgate/billing-projector/main")),
      args: ["--config", options.billingProjectorConfig],
      isReady: (line) => line.msg === "listening",
    }),
    new ManagedProcess({
      name: "gateway",
      script: fileURLToPath(import.meta.resolve("@tollgate/gateway/main")),
      nodeArgs: gatewayNodeOptions,
      args: ["--config", options.gatewayConfig],
      isReady: (line) => line.msg === "listening",
    }),
  ];

  let stopping: Promise<void> | null = null;
  const stopAll = (): Promise<void> =>
    (stopping ??= Promise.all(services.map((service) => service.stop())).then(() => {
      demo.close();
    }));
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stopAll());

  const firstExit = Promise.race(services.map(async (service) => ({ service, code: await service.exited })));
  try {
    const ready = await Promise.all(services.map((service) => service.ready));
    // By name, not by position in the list: the ports printed below are the gateway's and the control plane's.
    const readyLine = (name: string): Record<string, unknown> | undefined => ready[services.findIndex((service) => service.name === name)];
    const controlPlane = readyLine("control-plane");
    const gateway = readyLine("gateway");
    const port = typeof gateway?.port === "number" ? gateway.port : 8080;
    const statusPort = typeof gateway?.statusPort === "number" ? gateway.statusPort : 8081;
    const adminPort = typeof controlPlane?.port === "number" ? controlPlane.port : 8090;
    console.log(
      [
        "",
        "Tollgate is running.",
        `  Send a request:   curl http://localhost:${port}/demo/hello`,
        `  See its event:    npm run events -- tail`,
        `  Gateway metrics:  curl http://localhost:${statusPort}/metrics`,
        `  Admin API:        curl -H 'Authorization: Bearer <admin token from services/cli/config/control-plane.yaml>' http://localhost:${adminPort}/admin/plans`,
        `  OpenAPI:          curl http://localhost:${adminPort}/openapi.json`,
        `  Analytics:        open http://localhost:${adminPort}/dashboard/ (with the admin token)`,
        "  Stop:             Ctrl-C (a graceful stop: in-flight requests finish, every event is flushed)",
        "",
      ].join("\n"),
    );
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    await stopAll();
    return 1;
  }

  const { service, code } = await firstExit;
  if (stopping) {
    await stopAll();
    return 0;
  }
  console.error(`[tollgate] ${service.name} exited unexpectedly with code ${String(code)}; stopping the platform`);
  await stopAll();
  return 1;
}
