// An nginx reverse proxy in front of the frontend, for the fidelity benchmark:
// Debian's nginx, one worker (one event loop), HTTP/1.1 keep-alive pooling to
// the upstream (`keepalive N`), loopback only. The config is generated into a
// temp dir; nginx runs in the foreground so the runner owns its process.

import fs from 'node:fs';
import path from 'node:path';

export const NGINX = '/usr/sbin/nginx';

export function nginxConfig({ listenPort, upstreamPort, dir, keepalive = 8 }) {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${path.join(dir, 'body')};
  proxy_temp_path ${path.join(dir, 'proxy')};
  fastcgi_temp_path ${path.join(dir, 'fastcgi')};
  uwsgi_temp_path ${path.join(dir, 'uwsgi')};
  scgi_temp_path ${path.join(dir, 'scgi')};
  upstream frontend {
    server 127.0.0.1:${upstreamPort};
    keepalive ${keepalive};
  }
  server {
    listen 127.0.0.1:${listenPort};
    location = /healthz { return 200 '{"status":"ok","service":"nginx"}'; }
    location / {
      proxy_pass http://frontend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/** Writes the config; returns [executable, args] to run nginx with it. */
export function nginxCommand(opts) {
  fs.mkdirSync(opts.dir, { recursive: true });
  const conf = path.join(opts.dir, 'nginx.conf');
  fs.writeFileSync(conf, nginxConfig(opts));
  return [NGINX, ['-p', opts.dir, '-c', conf, '-e', path.join(opts.dir, 'error.log')]];
}
