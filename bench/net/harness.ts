/**
 * Process plumbing for the network benchmarks: the shared clock, free ports, forking and spawning
 * children that are always killed again (by PID, only the ones started here), bounded waits, and
 * version look-ups. Nothing here knows any peer.
 */
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildTask, Envelope, ReadyMessage, Reply, Request } from './ipc.js';
import type { Broker, Endpoint } from './peer.js';

/**
 * Nanoseconds of `process.hrtime`, i.e. CLOCK_MONOTONIC on Linux: one system-wide clock, so a
 * stamp taken in one process can be compared with a reading in another (a child checks this at
 * start, see child.ts). A double holds it exactly for 104 days of uptime.
 */
export function monoNs(): number {
  return Number(process.hrtime.bigint());
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Yields to the event loop (I/O callbacks run) without a timer's 1 ms floor. */
export function immediate(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Rejects with `what timed out after …` unless `p` settles within `ms`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A loopback TCP port nobody listens on right now (bound to port 0, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once something accepts TCP connections on `port`; rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const connected = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (connected) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await sleep(20);
  }
}

export function describeEndpoint(e: Endpoint): string {
  return 'path' in e ? `unix:${e.path}` : `${e.host}:${e.port}`;
}

/** Every process this module started and has not seen exit; killed on exit, whatever happens. */
const owned = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of owned) p.kill('SIGKILL');
});

/** Kills every process started here that is still running (for signal handlers). */
function killAllOwned(): void {
  for (const p of owned) p.kill('SIGKILL');
}

/** On Ctrl-C or SIGTERM, the children and brokers started here go with this process. */
export function killOwnedOnExitSignals(): void {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143]
  ] as const) {
    process.once(signal, () => {
      killAllOwned();
      process.exit(code);
    });
  }
}

function track(p: ChildProcess): void {
  owned.add(p);
  p.once('exit', () => owned.delete(p));
}

/** Keeps the last few KiB a child wrote to stderr, for error messages. */
function stderrTail(p: ChildProcess): () => string {
  let tail = '';
  p.stderr?.setEncoding('utf8');
  p.stderr?.on('data', (s: string) => {
    tail = (tail + s).slice(-4096);
  });
  return () => tail.trim();
}

/** Kills `p` (SIGTERM, then SIGKILL after `graceMs`) and waits for it to exit. */
export async function stopProcess(p: ChildProcess, graceMs = 1000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Spawns `command` and waits until it accepts connections on `port`; a process that dies first
 * fails with its stderr.
 */
async function spawnServer(
  command: string,
  args: readonly string[],
  port: number,
  timeoutMs: number
): Promise<ChildProcess> {
  const p = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  track(p);
  const tail = stderrTail(p);
  const died = new Promise<never>((_, reject) => {
    p.once('error', reject);
    p.once('exit', (code, signal) =>
      reject(new Error(`${command} exited (${code ?? signal}) before listening: ${tail()}`))
    );
  });
  died.catch(() => undefined); // raced below; after startup an exit is no error
  try {
    await Promise.race([waitForPort(port, timeoutMs), died]);
  } catch (err) {
    await stopProcess(p);
    throw err;
  }
  return p;
}

const SERVER_START_TRIES = 3;

/**
 * Starts a broker binary (nats-server, redis-server) on a free loopback port, given the
 * arguments for a port. A port taken between {@link freePort} and the bind is retried.
 */
export async function startServerBinary(
  command: string,
  argsFor: (port: number) => string[],
  timeoutMs = 5000
): Promise<Broker> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      const p = await spawnServer(command, argsFor(port), port, timeoutMs);
      return { endpoint: { host: '127.0.0.1', port }, stop: () => stopProcess(p) };
    } catch (err) {
      if (attempt === SERVER_START_TRIES) throw err;
    }
  }
}

const CHILD_SCRIPT = fileURLToPath(new URL('./child.js', import.meta.url));

/** A forked child (publisher, subscriber or JavaScript broker) spoken to by request/reply. */
export class ChildHandle {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  private readonly readyPromise: Promise<ReadyMessage>;
  private readonly tail: () => string;
  private exitError: Error | undefined = undefined;
  readonly process: ChildProcess;

  constructor(
    readonly label: string,
    task: ChildTask
  ) {
    this.process = fork(CHILD_SCRIPT, [JSON.stringify(task)], {
      stdio: ['ignore', 'inherit', 'pipe', 'ipc']
    });
    track(this.process);
    this.tail = stderrTail(this.process);
    this.readyPromise = new Promise<ReadyMessage>((resolve, reject) => {
      this.process.on('message', (m: ReadyMessage | Reply) => {
        if ('type' in m) resolve(m);
        else this.settle(m);
      });
      this.process.once('exit', (code, signal) => {
        this.exitError = new Error(`${label} exited (${code ?? signal}): ${this.tail()}`);
        reject(this.exitError);
        for (const p of this.pending.values()) p.reject(this.exitError);
        this.pending.clear();
      });
    });
    this.readyPromise.catch(() => undefined); // surfaced by ready() or call()
  }

  /** Waits for the child's ready message. */
  ready(timeoutMs: number): Promise<ReadyMessage> {
    return within(this.readyPromise, timeoutMs, `${this.label} start`);
  }

  /** Sends one request and waits, bounded, for its reply. */
  call<T>(request: Request, timeoutMs: number): Promise<T> {
    if (this.exitError !== undefined) return Promise.reject(this.exitError);
    const id = this.nextId++;
    const reply = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
    const envelope: Envelope = { id, ...request };
    this.process.send(envelope);
    return within(reply, timeoutMs, `${this.label} ${request.type}`).finally(() =>
      this.pending.delete(id)
    );
  }

  /** Asks the child to close, then makes sure it is gone. */
  async close(): Promise<void> {
    if (this.exitError === undefined && this.process.connected) {
      await this.call({ type: 'close' }, 3000).catch(() => undefined);
    }
    await stopProcess(this.process);
  }

  private settle(m: Reply): void {
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(`${this.label}: ${m.error}`));
  }
}

/** A JavaScript broker lives at most this long: longer than all workloads of one peer. */
const BROKER_LIFETIME_MS = 10 * 60_000;

/** Forks a child serving `peer`'s JavaScript broker (its `serveBroker`). */
export async function forkBroker(peer: string): Promise<Broker> {
  const child = new ChildHandle(`${peer} broker`, {
    role: 'broker',
    peer,
    qos: 0,
    connections: 0,
    payloadBytes: 0,
    parentNs: monoNs(),
    lifetimeMs: BROKER_LIFETIME_MS
  });
  try {
    const { endpoint } = await child.ready(10_000);
    if (endpoint === undefined) throw new Error(`${peer} broker reported no endpoint`);
    return { endpoint, stop: () => child.close() };
  } catch (err) {
    await child.close();
    throw err;
  }
}

/** Whether `command` runs at all; the reason when it does not. */
export function missingBinary(command: string, versionArgs: readonly string[]): string | undefined {
  try {
    execFileSync(command, versionArgs, { stdio: 'ignore', timeout: 5000 });
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `${command} not found on PATH` : `${command} fails: ${String(err)}`;
  }
}

/**
 * The version `command` prints for `versionArgs`: the first capture of `pattern` when it matches,
 * else the first line; 'unknown' when the command fails.
 */
export function binaryVersion(
  command: string,
  versionArgs: readonly string[],
  pattern?: RegExp
): string {
  try {
    const line = execFileSync(command, versionArgs, { encoding: 'utf8', timeout: 5000 })
      .split('\n')[0]
      .trim();
    return pattern?.exec(line)?.[1] ?? line;
  } catch {
    return 'unknown';
  }
}

/**
 * The installed version of npm package `name`, read from its package.json (found by resolving
 * the package and walking up, since not every package exports `./package.json`).
 */
export function packageVersion(name: string): string {
  try {
    let dir = path.dirname(fileURLToPath(import.meta.resolve(name)));
    for (;;) {
      const file = path.join(dir, 'package.json');
      if (existsSync(file)) {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === name) return pkg.version ?? 'unknown';
      }
      const up = path.dirname(dir);
      if (up === dir) return 'unknown';
      dir = up;
    }
  } catch {
    return 'not installed';
  }
}

/** Reason when `import(name)` fails, else undefined. */
export async function missingPackage(name: string): Promise<string | undefined> {
  try {
    await import(name);
    return undefined;
  } catch (err) {
    return `npm package ${name} not loadable: ${(err as Error).message.split('\n')[0]}`;
  }
}

/** The reason of the first of `names` that {@link missingPackage} finds missing, else undefined. */
export async function missingPackages(names: readonly string[]): Promise<string | undefined> {
  for (const name of names) {
    const missing = await missingPackage(name);
    if (missing !== undefined) return missing;
  }
  return undefined;
}

/** {@link packageVersion} of each of `names`, keyed by name. */
export function packageVersions(names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, packageVersion(name)]));
}
