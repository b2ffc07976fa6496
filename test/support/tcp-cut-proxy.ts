import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP relay to PostgreSQL that a test can cut and restore: what a database restart or a failover
 * looks like to one bot process (its connections drop, new ones are refused), without stopping the
 * PostgreSQL server the other tests share.
 */
export interface CutProxy {
  port: number;
  /** drop every relayed connection and refuse new ones */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startCutProxy(target: { host: string; port: number }): Promise<CutProxy> {
  let down = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (down) { client.destroy(); return; }
    const upstream = net.connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const end = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    cut: () => { down = true; for (const s of sockets) s.destroy(); sockets.clear(); },
    restore: () => { down = false; },
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}
