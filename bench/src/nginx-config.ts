/**
 * nginx configurations for the bench: a one-worker upstream that answers every request
 * with a small fixed body, and a one-worker reverse proxy with keep-alive to it. Every
 * path nginx writes (pid, error log, temp folders) lies in the bench's temp folder, and
 * access logs are off. keepalive_requests is raised from its default of 1,000 so that
 * nginx does not close wrk's connections mid-run (Node's servers have no such limit).
 */

export type NginxRole =
  | { kind: "upstream"; /** Response body of every request */ body: string }
  | { kind: "proxy"; upstreamPort: number; /** Idle keep-alive connections kept to the upstream */ keepalive: number };

export interface NginxConfigOptions {
  /** Folder for the pid file, the error log and the temp paths. */
  dir: string;
  port: number;
  role: NginxRole;
}

/** The path of nginx's stub_status page on the upstream; it counts every request served. */
export const stubStatusPath = "/__bench_nginx_status";

function quote(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`;
}

export function renderNginxConfig({ dir, port, role }: NginxConfigOptions): string {
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) throw new RangeError(`bad port ${port}`);
  const location =
    role.kind === "upstream"
      ? `    location = ${stubStatusPath} { stub_status; }
    location / {
      default_type text/plain;
      return 200 ${quote(role.body)};
    }`
      : `    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }`;
  const upstreamBlock =
    role.kind === "proxy"
      ? `  upstream bench_upstream {
    server 127.0.0.1:${role.upstreamPort};
    keepalive ${role.keepalive};
    keepalive_requests 1000000;
    keepalive_timeout 60s;
  }
`
      : "";
  return `# Written by @tollgate/bench; started as: nginx -p ${dir} -c <this file> -e ${dir}/error.log
daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;

events {
  worker_connections 4096;
}

http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 65s;
${upstreamBlock}
  server {
    listen 127.0.0.1:${port} backlog=4096;
${location}
  }
}
`;
}
