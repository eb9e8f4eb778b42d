/**
 * Starts and stops the HTTP server of the API (port 0 picks a free port, as tests do). Stopping is graceful: the
 * server stops accepting connections, closes the idle ones, answers what is in flight (with `Connection: close`, so
 * that a keep-alive client sends nothing more on it), and only after the grace time closes what is still open — so
 * that a step completion committed during a stop reaches its client.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

export interface ApiServer {
  url: string;
  port: number;
  /** True from the moment a stop begins (readiness answers 503 from then on). */
  readonly stopping: boolean;
  stop(graceMs?: number): Promise<void>;
}

export async function startApiServer(app: Express, host: string, port: number): Promise<ApiServer> {
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  // Clients that keep connections alive must not hold the process open on stop.
  server.keepAliveTimeout = 5_000;
  const actual = (server.address() as AddressInfo).port;
  let stopping = false;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}`,
    port: actual,
    get stopping() {
      return stopping;
    },
    stop: (graceMs = 10_000) => {
      stopping = true;
      // A request that arrives on a kept-alive connection meanwhile is answered, and its connection then closed.
      server.on('request', (_req, res) => res.setHeader('Connection', 'close'));
      const closed = new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
      // Connections that finish their request become idle: close them as they do.
      const idle = setInterval(() => server.closeIdleConnections(), 100);
      const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
      server.closeIdleConnections();
      return closed.finally(() => {
        clearInterval(idle);
        clearTimeout(deadline);
      });
    },
  };
}
