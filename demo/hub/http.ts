import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Bus } from '../../adapters/node.js';
import { sameToken } from '../../src/link/permissions.js';

/** Where the pages and the browser build are read from (the repository, at run time). */
export interface Assets {
  readonly pages: URL;
  readonly bundle: URL;
}

const ACTIONS = ['pause', 'resume', 'empty', 'delete'] as const;
type Action = (typeof ACTIONS)[number];

/**
 * The demo's HTTP routes: the dashboard (`/`) and fan-out (`/fanout`) pages, the browser build,
 * `/stats` (JSON) and `/metrics` (Prometheus text) of the hub, and `POST /control` for the
 * dashboard's channel buttons: `{ pattern, channel, action }`, with `Authorization: Bearer
 * <token>` whenever an admin token is set.
 */
export function routes(
  hub: Bus,
  assets: Assets,
  adminToken: string | undefined
): (req: IncomingMessage, res: ServerResponse) => void {
  const file = (name: string, type: string) => (res: ServerResponse) =>
    send(res, 200, type, readFileSync(new URL(name, assets.pages)));
  const pages: Record<string, (res: ServerResponse) => void> = {
    '/': file('dashboard.html', 'text/html; charset=utf-8'),
    '/fanout': file('fanout.html', 'text/html; charset=utf-8'),
    '/demo.css': file('demo.css', 'text/css; charset=utf-8'),
    '/ringbus.browser.js': (res) =>
      send(res, 200, 'text/javascript; charset=utf-8', readFileSync(assets.bundle)),
    '/stats': (res) => send(res, 200, 'application/json', JSON.stringify(hub.stats(), null, 2)),
    '/metrics': (res) => send(res, 200, 'text/plain; version=0.0.4', hub.metrics()),
    '/favicon.ico': (res) => send(res, 204, 'image/x-icon', '')
  };
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://demo').pathname;
    if (req.method === 'POST' && path === '/control') return control(hub, adminToken, req, res);
    const page = req.method === 'GET' ? pages[path] : undefined;
    if (page === undefined) return send(res, 404, 'text/plain', 'not found\n');
    page(res);
  };
}

function control(
  hub: Bus,
  adminToken: string | undefined,
  req: IncomingMessage,
  res: ServerResponse
): void {
  if (
    adminToken !== undefined &&
    !sameToken(req.headers.authorization?.replace(/^Bearer /u, '') ?? '', adminToken)
  )
    return send(res, 401, 'text/plain', 'admin token required\n');
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    body += chunk;
    if (body.length > 4096) req.destroy();
  });
  req.on('end', () => {
    let c: { pattern?: unknown; channel?: unknown; action?: unknown };
    try {
      c = JSON.parse(body) as typeof c;
    } catch {
      return send(res, 400, 'text/plain', 'the body must be JSON\n');
    }
    if (
      typeof c.pattern !== 'string' ||
      typeof c.channel !== 'string' ||
      !ACTIONS.includes(c.action as Action)
    )
      return send(
        res,
        400,
        'text/plain',
        `want { pattern, channel, action: ${ACTIONS.join(' | ')} }\n`
      );
    try {
      const channel = hub.channel(c.pattern, c.channel);
      const result = channel[c.action as Action]();
      send(res, 200, 'application/json', JSON.stringify({ ok: true, result: result ?? null }));
    } catch (err) {
      send(res, 400, 'text/plain', `${(err as Error).message}\n`);
    }
  });
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}
