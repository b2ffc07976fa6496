import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const NGINX = '/usr/sbin/nginx';

/** Debian's nginx, installed when missing (root only: the dev machines and CI run as root). */
export function ensureNginx(): void {
  if (existsSync(NGINX)) return;
  if (process.getuid?.() !== 0) throw new Error('nginx is not installed: apt-get install -y nginx (as root)');
  process.stderr.write('installing nginx (apt-get install -y nginx) ...\n');
  const r = spawnSync('apt-get', ['install', '-y', '-qq', 'nginx'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0 || !existsSync(NGINX)) throw new Error('apt-get install -y nginx failed');
}

/**
 * The load balancer's configuration: round-robin over the replicas for the bot's HTTP surface.
 *
 * Health: nginx OSS has only passive checks. A replica that refuses connections, times out or
 * answers 502/503 (a replica whose store is unreachable answers 503: see /readyz and /api/alerts)
 * counts as a failure; after `max_fails` of them within `fail_timeout` nginx sends it nothing for
 * `fail_timeout`, then tries it again. Active checks (polling /readyz) need nginx Plus or another
 * balancer; App Service's health check plays that part in production.
 *
 * A request that failed that way is passed to the next replica, POSTs included
 * (non_idempotent): an alert is recognised by its id and a click by its approval and voter, so a
 * repeat lands on the same incident and the same vote, never a second one.
 */
export function nginxConfig(o: { listenPort: number; replicaPorts: number[]; prefix: string; peersPort?: number }): string {
  const servers = o.replicaPorts.map((p) => `    server 127.0.0.1:${p} max_fails=2 fail_timeout=5s;`).join('\n');
  const exact = ['/api/messages', '/api/alerts', '/readyz', '/healthz'].map((path) => `    location = ${path} { proxy_pass http://irbot; }`);
  const prefixed = ['/api/incidents', '/feeds/', '/reports/'].map((path) => `    location ${path} { proxy_pass http://irbot; }`);
  // The sandbox's "Defender raises an alert" lives with the emulators (npm run alert calls it first).
  const peers = o.peersPort ? [`    location = /sandbox/defender/alerts { proxy_pass http://127.0.0.1:${o.peersPort}; }`] : [];
  const locations = [...exact, ...prefixed, ...peers].join('\n');
  return `# written by npm run cluster; run as: nginx -p ${o.prefix} -c nginx.conf
daemon off;
worker_processes 1;
pid ${join(o.prefix, 'nginx.pid')};
error_log stderr warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(o.prefix, 'tmp/body')};
  proxy_temp_path ${join(o.prefix, 'tmp/proxy')};
  fastcgi_temp_path ${join(o.prefix, 'tmp/fastcgi')};
  uwsgi_temp_path ${join(o.prefix, 'tmp/uwsgi')};
  scgi_temp_path ${join(o.prefix, 'tmp/scgi')};
  client_max_body_size 2m;
  upstream irbot {
${servers}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${o.listenPort};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_connect_timeout 2s;
    proxy_read_timeout 60s;
    proxy_next_upstream error timeout http_502 http_503 non_idempotent;
    proxy_next_upstream_tries 3;
${locations}
    location / { return 404; }
  }
}
`;
}

/** Writes the configuration into `prefix` and starts nginx in the foreground on it (never the system's). */
export function startNginx(o: { listenPort: number; replicaPorts: number[]; prefix: string; peersPort?: number; output?: (line: string) => void }): ChildProcess {
  for (const d of ['tmp/body', 'tmp/proxy', 'tmp/fastcgi', 'tmp/uwsgi', 'tmp/scgi']) mkdirSync(join(o.prefix, d), { recursive: true });
  const conf = join(o.prefix, 'nginx.conf');
  writeFileSync(conf, nginxConfig(o));
  // -e stderr: the start-up error log too (the compiled-in /var/log/nginx path is not ours).
  const child = spawn(NGINX, ['-p', o.prefix, '-c', conf, '-e', 'stderr'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = (chunk: Buffer) => { for (const line of chunk.toString('utf8').split('\n')) if (line) o.output?.(line); };
  child.stdout!.on('data', out);
  child.stderr!.on('data', out);
  return child;
}
