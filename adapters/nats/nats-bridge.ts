import type { ConnectionOptions, JetStreamManager, NatsConnection } from 'nats';
import { ErrorCode, RingbusError } from '../../src/errors.js';
import type { Bridge, BridgeHost, NatsStreamOptions } from '../../src/link/bridge.js';
import { Link } from '../../src/link/link.js';
import { type NatsModule, bridgeError } from './bridge-error.js';
import { NatsSession } from './nats-session.js';
import { type BridgeSettings, bridgeSettings } from './options.js';

let loaded: Promise<NatsModule> | undefined;

/**
 * The NATS bridge (`nats://`, `tls://`; docs/scale-out.md): a link whose other side is a NATS
 * system. The official client reconnects and fails over through the server list (the servers
 * also announce the rest of their cluster), so the link never redials: it goes down and comes back
 * up with the client.
 */
export const natsBridge: Bridge = {
  async connect(host: BridgeHost, url: URL, options: unknown): Promise<Link> {
    const settings = bridgeSettings(url, options);
    const nats = await (loaded ??= import('nats'));
    if (host.isClosed)
      throw new RingbusError(ErrorCode.CLOSED, 'the bus was closed while the bridge connected');
    const link = new Link(
      host,
      url.href,
      'out',
      false,
      async (l) => {
        const nc = await open(nats, settings, host.id);
        try {
          const jsm = await nc.jetstreamManager({ timeout: settings.timeoutMs, checkAPI: false });
          await ensureStreams(nats, jsm, settings.streams);
          return new NatsSession(
            host,
            nats,
            nc,
            nc.jetstream({ timeout: settings.timeoutMs }),
            jsm,
            settings,
            {
              up: (s) => l.sessionUp(s),
              down: (s, e) => l.sessionDown(s, e),
              closed: (s, e) => l.sessionClosed(s, e)
            }
          );
        } catch (err) {
          await nc.close();
          throw err;
        }
      },
      undefined
    );
    await link.start();
    return link;
  }
};

async function open(nats: NatsModule, s: BridgeSettings, busId: string): Promise<NatsConnection> {
  const options: ConnectionOptions = {
    servers: s.servers,
    // The URL's server is the one asked for: tried first, the others in order for failover.
    noRandomize: true,
    name: s.name ?? `ringbus ${busId}`,
    timeout: s.timeoutMs,
    reconnect: s.reconnect !== false,
    maxReconnectAttempts: -1,
    reconnectTimeWait: s.reconnect === false ? 0 : s.reconnect.waitMs,
    reconnectJitter: s.reconnect === false ? 0 : s.reconnect.jitterMs,
    // A bus never gets its own exports back: its subscribers had them (no origin header needed).
    noEcho: true,
    // By default every request (JetStream API calls, link.publish at QoS 1) captures two stack
    // traces ahead of an error that rarely comes. Errors reach users as RingbusErrors that say
    // what failed; the client's inner async stack adds nothing to them.
    noAsyncTraces: true,
    // A NATS disconnect may be short: buffer what is published meanwhile (the client's default).
    pingInterval: 10_000,
    maxPingOut: 2
  };
  if (s.token !== undefined) options.token = s.token;
  if (s.user !== undefined) {
    options.user = s.user;
    options.pass = s.pass;
  }
  if (s.tls || s.ca !== undefined)
    options.tls = s.ca === undefined ? {} : { ca: [s.ca].flat().join('\n') };
  try {
    return await nats.connect(options);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'AUTHORIZATION_VIOLATION' || code === 'AUTHENTICATION_EXPIRED')
      throw new RingbusError(ErrorCode.AUTH, `NATS refused the credentials: ${String(err)}`, {
        cause: err
      });
    throw new RingbusError(
      ErrorCode.CONNECT,
      `could not connect to NATS at ${s.servers.join(', ')}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err }
    );
  }
}

/** Creates the streams the options list and the server lacks; leaves existing ones as they are. */
async function ensureStreams(
  nats: NatsModule,
  jsm: JetStreamManager,
  streams: readonly NatsStreamOptions[]
): Promise<void> {
  for (const s of streams) {
    try {
      await jsm.streams.info(s.name);
      continue;
    } catch (err) {
      if (!isNotFound(err))
        throw bridgeError(`JetStream is not available for stream '${s.name}'`, err);
    }
    try {
      await jsm.streams.add({
        name: s.name,
        subjects: s.subjects,
        num_replicas: s.replicas ?? 1,
        storage: s.storage === 'memory' ? nats.StorageType.Memory : nats.StorageType.File,
        retention:
          s.retention === 'interest' ? nats.RetentionPolicy.Interest : nats.RetentionPolicy.Limits,
        max_age: nats.nanos(s.maxAgeMs ?? 0),
        max_bytes: s.maxBytes || -1,
        max_msgs: s.maxMessages || -1
      });
    } catch (err) {
      throw bridgeError(`stream '${s.name}' could not be created`, err);
    }
  }
}

function isNotFound(err: unknown): boolean {
  return (err as { api_error?: { err_code?: number } }).api_error?.err_code === 10059;
}
