import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import express, { type Express } from "express";

/** services/control-plane/dashboard, from src/api/analytics or dist/api/analytics. */
export const dashboardDir = fileURLToPath(new URL("../../../dashboard/", import.meta.url));

/**
 * The analytics dashboard: static files, no build step. Chart.js is served from
 * node_modules (its UMD bundle). The page holds no data and no secret: it asks for an
 * admin token and calls /admin/analytics with it, so the API's auth is the only gate.
 */
export function mountDashboard(app: Express): void {
  const chartJs = join(dirname(createRequire(import.meta.url).resolve("chart.js")), "chart.umd.min.js");
  app.get("/dashboard/vendor/chart.umd.min.js", (_req, res) => {
    res.type("text/javascript").sendFile(chartJs);
  });
  app.use(
    "/dashboard",
    express.static(dashboardDir, {
      index: "index.html",
      setHeaders: (res) => {
        res.setHeader("content-security-policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'");
        res.setHeader("x-content-type-options", "nosniff");
      },
    }),
  );
}
