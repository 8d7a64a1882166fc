/**
 * The controller's small HTTP endpoint: GET /metrics for Prometheus and GET /healthz for the
 * kubelet's liveness probe. node:http only; nothing here may block reconciles, so both
 * handlers just read state kept elsewhere.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ControllerMetrics } from './metrics.js';

export interface Health {
  ok: boolean;
  /** Why not ok; also shown when ok is false. */
  detail: string;
}

export interface HttpServerOptions {
  /** "host:port", ":port" (all interfaces) or "[ipv6]:port"; port 0 picks a free one. */
  listen: string;
  metrics: ControllerMetrics;
  health: () => Health;
}

export interface RunningHttpServer {
  /** The bound port (the real one when listen asked for 0). */
  port: number;
  /** The bound address as host:port, IPv6 hosts in brackets. */
  address: string;
  /** Stops accepting, drops idle keep-alive connections, resolves once the port is free. */
  close(): Promise<void>;
}

export interface ListenAddress {
  /** undefined = all interfaces. */
  host?: string;
  port: number;
}

/** Parses a --listen value; the error names the flag because that's where the value came from. */
export function parseListen(listen: string): ListenAddress {
  const bad = () => new Error(`--listen must be host:port or :port, got ${JSON.stringify(listen)}`);
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(listen);
  if (!m) throw bad();
  const port = Number(m[3]);
  if (port > 65535) throw bad();
  const host = m[1] ?? m[2];
  return host ? { host, port } : { port };
}

export async function startHttpServer(opts: HttpServerOptions): Promise<RunningHttpServer> {
  const { host, port } = parseListen(opts.listen);
  const server = createServer((req, res) => {
    handle(req, res, opts).catch((err: unknown) => {
      // Headers may be out already if the failure came late; then only the socket can go.
      if (res.headersSent) res.destroy();
      else send(res, 500, 'text/plain; charset=utf-8', errorMessage(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    port: bound.port,
    address: `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // close() alone waits for keep-alive connections a scraper holds open.
        server.closeIdleConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: HttpServerOptions): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path !== '/metrics' && path !== '/healthz') return send(res, 404, 'text/plain; charset=utf-8', 'not found');
  if (req.method !== 'GET') {
    res.setHeader('Allow', 'GET');
    return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed');
  }
  if (path === '/metrics') return send(res, 200, opts.metrics.contentType, await opts.metrics.text());
  let health: Health;
  try {
    health = opts.health();
  } catch (err) {
    health = { ok: false, detail: `health check failed: ${errorMessage(err)}` };
  }
  if (health.ok) return send(res, 200, 'text/plain; charset=utf-8', 'ok');
  return send(res, 503, 'text/plain; charset=utf-8', health.detail);
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));
