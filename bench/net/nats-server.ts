/**
 * Debian's `nats-server` binary, as the `nats` and `nats-ws` peers and the durable suite's
 * JetStream peer (bench/durable/jetstream.ts) start it: loopback only, each server with a
 * temporary directory of its own (for a config file or a JetStream store) that goes when it stops.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { binaryVersion, missingBinary, startServerBinary } from './harness.js';
import type { Broker } from './peer.js';

const COMMAND = 'nats-server';
const VERSION_ARGS = ['--version'];

/** Why nats-server cannot run here, or undefined when it can. */
export function missingNatsServer(): string | undefined {
  return missingBinary(COMMAND, VERSION_ARGS);
}

/** nats-server's version, e.g. `v2.9.10`. */
export function natsServerVersion(): string {
  return binaryVersion(COMMAND, VERSION_ARGS, /(v[\d.]+)/);
}

/**
 * Starts nats-server on a free loopback port with the arguments `argsFor` gives for that port
 * and a fresh temporary directory; stopping the broker removes the directory.
 */
export async function startNatsServer(
  argsFor: (port: number, dir: string) => string[]
): Promise<Broker> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ringbus-nats-'));
  const cleanUp = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    const broker = await startServerBinary(COMMAND, (port) => argsFor(port, dir));
    return { endpoint: broker.endpoint, stop: () => broker.stop().finally(cleanUp) };
  } catch (err) {
    cleanUp();
    throw err;
  }
}

/** The arguments of a plain nats-server on `port`, loopback only. */
export function loopbackArgs(port: number): string[] {
  return ['-a', '127.0.0.1', '-p', String(port)];
}
