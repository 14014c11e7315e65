import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bus, ErrorCode, type Listener, RingbusError } from '../../adapters/node.js';
import { type Assets, routes } from './http.js';
import { Jobs } from './jobs.js';
import { Simulation } from './simulation.js';
import { feedStats } from './stats-feed.js';

/** What `startDemo` runs; every field has an embedded default. */
export interface DemoOptions {
  /** Interface of every listener: loopback unless asked otherwise. @defaultValue '127.0.0.1' */
  host?: string;
  /** HTTP port of the pages and the WebSocket link (`/bus`); 0 picks one. @defaultValue 8080 */
  httpPort?: number;
  /** TCP port of the hub; 0 picks one. @defaultValue 4222 */
  tcpPort?: number;
  /** Entities the simulation starts with. @defaultValue 200 */
  entities?: number;
  /** Required for the channel controls; must be set when `host` is not loopback. */
  adminToken?: string;
  assets: Assets;
}

/** A running demo. */
export interface Demo {
  readonly hub: Bus;
  readonly simulation: Simulation;
  /** The dashboard, the fan-out page, and the hub's listeners. */
  readonly urls: { dashboard: string; fanout: string; ws: string; tcp: string; unix: string };
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Starts the hub of `npm start`: one bus listening on TCP, a Unix socket and WebSocket, a
 * simulation publishing entity positions at 60 Hz, a QoS 1 job queue, its stats published over
 * the bus, and an HTTP server with the dashboard and fan-out pages.
 */
export async function startDemo(options: DemoOptions): Promise<Demo> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host) && options.adminToken === undefined)
    throw new RingbusError(
      ErrorCode.INVALID_OPTIONS,
      `binding ${host} (not loopback) needs an admin token for the channel controls`
    );
  const hub = new Bus({ id: 'hub' });
  const http = createServer(routes(hub, options.assets, options.adminToken));
  try {
    await listenOrAnyPort(http, host, options.httpPort ?? 8080);
    const { port } = http.address() as { port: number };
    const web = `http://${hostPart(host)}:${port}`;
    const ws = await hub.listen(`${web.replace(/^http/u, 'ws')}/bus`, { httpServer: http });
    const tcp = await listenTcp(hub, host, options.tcpPort ?? 4222);
    const unix = await hub.listen(`unix://${join(tmpdir(), `ringbus-demo-${process.pid}.sock`)}`);
    const simulation = new Simulation(hub, options.entities ?? 200, 60);
    const jobs = new Jobs(hub, 20);
    simulation.start();
    jobs.start();
    const stopStats = feedStats(hub, 500);
    return {
      hub,
      simulation,
      urls: {
        dashboard: `${web}/`,
        fanout: `${web}/fanout`,
        ws: ws.url,
        tcp: tcp.url,
        unix: unix.url
      },
      async close() {
        stopStats();
        simulation.stop();
        jobs.stop();
        await hub.close();
        await new Promise<void>((resolve) => http.close(() => resolve()));
      }
    };
  } catch (err) {
    await hub.close();
    http.close();
    throw err;
  }
}

/** Listens on `port`, or on any free port when that one is taken (another demo, a real NATS). */
async function listenOrAnyPort(
  server: ReturnType<typeof createServer>,
  host: string,
  port: number
) {
  const attempt = (p: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  try {
    await attempt(port);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EADDRINUSE' || port === 0) throw err;
    await attempt(0);
  }
}

async function listenTcp(hub: Bus, host: string, port: number): Promise<Listener> {
  const url = (p: number) => `tcp://${hostPart(host)}:${p}`;
  try {
    return await hub.listen(url(port));
  } catch (err) {
    if (port === 0 || !/EADDRINUSE/u.test((err as Error).message)) throw err;
    return hub.listen(url(0));
  }
}

/** `host` as it goes in a URL: an IPv6 address in brackets. */
function hostPart(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
