/**
 * Real nats-server processes (Debian's binary, which .ci/run installs) for the NATS bridge tests:
 * one server or a JetStream cluster joined by routes, all on loopback, each node with a config file
 * and a JetStream store of its own under one `ringbus-nats-` temporary directory. Nodes can be
 * killed and restarted on the same ports and store, so tests can exercise failover. Nothing is
 * registered globally: a test calls `t.after(() => cluster.stop())`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'nats';

const COMMAND = 'nats-server';
/** How long a node may take to log "Server is ready" and accept a TCP connection. */
const START_TIMEOUT_MS = 10_000;
/** How long `stop()` waits after SIGTERM before it sends SIGKILL. */
const STOP_GRACE_MS = 5_000;
/** Lines of a node's output kept for error messages. */
const TAIL_LINES = 50;
/** A port taken by someone else between picking and binding is retried with fresh ports. */
const START_TRIES = 3;
/** How often `jetStreamReady` asks again, and how long one question may stay unanswered. */
const POLL_MS = 100;
const REQUEST_TIMEOUT_MS = 2_000;

/** Why nats-server cannot run here (a loud reason for t.skip), or undefined when it can. */
export function missingNatsServer(): string | undefined {
  try {
    execFileSync(COMMAND, ['--version'], { stdio: 'ignore', timeout: 5000 });
    return undefined;
  } catch (err) {
    const why =
      (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? `${COMMAND} not found on PATH`
        : `${COMMAND} --version fails (${String(err)})`;
    return `SKIPPED LOUDLY: ${why}: apt-get install nats-server (CI installs it, see .ci/run)`;
  }
}

export interface NatsNode {
  readonly name: string;
  /** `nats://127.0.0.1:<client port>`. */
  readonly url: string;
  /** Of the running process; undefined while stopped. */
  readonly pid: number | undefined;
  /** SIGKILL; resolves once the process has exited. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and store (stopping it first if it runs). */
  restart(): Promise<void>;
  /** SIGTERM (SIGKILL after 5 s); resolves once the process has exited. */
  stop(): Promise<void>;
}

export interface NatsCluster {
  readonly nodes: readonly NatsNode[];
  /** Every node's url. */
  readonly urls: string[];
  /**
   * Resolves once JetStream in the cluster has a meta leader and answers API calls through every
   * running node (bounded, rejects after timeoutMs, default 30 s). Right after a kill it may still
   * resolve: survivors notice a lost meta leader only after nats-server's election timeout (4-9 s).
   */
  jetStreamReady(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes every temporary directory. Idempotent. */
  stop(): Promise<void>;
}

/** A certificate and key (PEM files) for a server that speaks TLS only. */
export interface ServerTls {
  certFile: string;
  keyFile: string;
}

/** How the nodes are configured (all of them alike). */
interface NodeOptions {
  /** JetStream on, its store in the node's temp dir. */
  jetstream?: boolean;
  token?: string;
  /** TLS only when given. */
  tls?: ServerTls;
  /** The server's max_payload in bytes (nats-server's default when absent: 1 MiB). */
  maxPayload?: number;
}

/** One server, loopback only, free port. */
export function startNatsServer(options: NodeOptions = {}): Promise<NatsCluster> {
  return startNodes(1, options);
}

/**
 * `size` servers (default 3) joined by routes on loopback, JetStream clustered (server_name set per
 * node, one cluster name), each with its own store dir under one temp dir. A size of 1 has no
 * routes, so its JetStream is not clustered (nats-server needs peers for that).
 */
export function startNatsCluster(size = 3, options: { token?: string } = {}): Promise<NatsCluster> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`cluster size ${size}`);
  return startNodes(size, { jetstream: true, token: options.token });
}

/** The ports of one node. */
interface Ports {
  client: number;
  route: number;
}

/** nats-server's config syntax takes JSON-style quoted strings. */
const quote = (s: string): string => JSON.stringify(s);

/** The config file of node `i` (nats-server 2.9 syntax). */
function configOf(i: number, ports: readonly Ports[], dir: string, options: NodeOptions): string {
  const { jetstream, token, tls, maxPayload } = options;
  const lines = [`server_name: n${i + 1}`, `listen: 127.0.0.1:${ports[i].client}`];
  if (maxPayload !== undefined) lines.push(`max_payload: ${maxPayload}`);
  if (jetstream)
    lines.push(
      'jetstream {',
      `  store_dir: ${quote(path.join(dir, 'store'))}`,
      '  max_memory_store: 64MB',
      '  max_file_store: 256MB',
      '}'
    );
  if (token !== undefined) lines.push('authorization {', `  token: ${quote(token)}`, '}');
  if (tls !== undefined)
    lines.push(
      'tls {',
      `  cert_file: ${quote(tls.certFile)}`,
      `  key_file: ${quote(tls.keyFile)}`,
      '}'
    );
  if (ports.length > 1)
    // Routes to the others only: a route to itself is accepted, then dropped as a duplicate.
    lines.push(
      'cluster {',
      '  name: ringbus',
      `  listen: 127.0.0.1:${ports[i].route}`,
      '  routes [',
      ...ports.filter((_, j) => j !== i).map((p) => `    nats-route://127.0.0.1:${p.route}`),
      '  ]',
      '}'
    );
  return lines.join('\n') + '\n';
}

/** `n` distinct loopback ports nobody listens on right now (all bound at once, then released). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        })
    )
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** Resolves once something accepts a TCP connection on `port`, polling until `signal` aborts. */
async function acceptsConnections(port: number, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

class ServerNode implements NatsNode {
  readonly url: string;
  private child: ChildProcess | undefined;
  /** Settles when the current child has exited and its output is read to the end. */
  private closed: Promise<void> = Promise.resolve();
  /** The last lines the node wrote, over all its runs. */
  private readonly lines: string[] = [];
  /** Set when the cluster stops: its directory is gone, so the node must not start again. */
  retired = false;

  constructor(
    readonly name: string,
    private readonly configFile: string,
    private readonly clientPort: number
  ) {
    this.url = `nats://127.0.0.1:${clientPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  tail(): string {
    return this.lines.join('\n');
  }

  private log(line: string): void {
    this.lines.push(line);
    if (this.lines.length > TAIL_LINES) this.lines.splice(0, this.lines.length - TAIL_LINES);
  }

  /**
   * Spawns the server and resolves once it has logged "Server is ready" (printed after the client
   * listener is up, before routes connect, so nodes start in any order) and a TCP connection to
   * the client port succeeds. A process that exits first, or a timeout, rejects with its log.
   */
  async start(): Promise<void> {
    if (this.retired) throw new Error(`${this.name}: its cluster is stopped`);
    if (this.child !== undefined) throw new Error(`${this.name} is already running`);
    // Run inside the node's own directory: nats-server 2.9 once left a consumer's meta.inf in its
    // working directory (the repo) after a kill; anything like it now goes with the temp dir.
    const child = spawn(COMMAND, ['-c', this.configFile], {
      cwd: path.dirname(this.configFile),
      stdio: ['ignore', 'pipe', 'pipe']
    });
    this.child = child;
    this.log(`--- ${this.name} started (pid ${child.pid ?? '?'}) ---`);
    let signalReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (signalReady = resolve));
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop()!;
        for (const line of parts) {
          this.log(line);
          if (line.includes('Server is ready')) signalReady();
        }
      });
      stream.on('end', () => {
        if (partial !== '') this.log(partial);
      });
    }
    let exitedEarly: (err: Error) => void = () => undefined;
    const died = new Promise<never>((_, reject) => (exitedEarly = reject));
    died.catch(() => undefined); // raced below; after startup an exit is no error
    this.closed = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        if (this.child === child) this.child = undefined;
        exitedEarly(err);
        resolve();
      });
      child.once('exit', () => {
        if (this.child === child) this.child = undefined;
      });
      child.once('close', (code, signal) => {
        this.log(`--- ${this.name} exited (${signal ?? code}) ---`);
        exitedEarly(new Error(`exited (${signal ?? code})`));
        resolve();
      });
    });
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`not ready within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS
      );
    });
    try {
      await Promise.race([
        Promise.all([ready, acceptsConnections(this.clientPort, abort.signal)]),
        died,
        timeout
      ]);
    } catch (err) {
      await this.kill();
      throw new Error(`${this.name} (${this.url}) failed to start: ${String(err)}\n${this.tail()}`);
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
  }

  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.closed;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined) return this.closed;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.closed;
    clearTimeout(timer);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

class ServerCluster implements NatsCluster {
  readonly urls: string[];
  private stopping: Promise<void> | undefined;

  constructor(
    readonly nodes: readonly ServerNode[],
    private readonly dir: string,
    private readonly jetstream: boolean,
    private readonly token: string | undefined
  ) {
    this.urls = nodes.map((n) => n.url);
  }

  async jetStreamReady(timeoutMs = 30_000): Promise<void> {
    if (!this.jetstream) throw new Error('this nats-server runs without JetStream');
    if (this.stopping !== undefined) throw new Error('the NATS cluster is stopped');
    const running = this.nodes.filter((n) => n.pid !== undefined);
    if (running.length === 0) throw new Error('no NATS node is running');
    const deadline = Date.now() + timeoutMs;
    // The first failure ends every node's wait; all settle (clients closed) before this does.
    const abort = new AbortController();
    let firstError: unknown;
    await Promise.allSettled(
      running.map((n) =>
        this.answered(n, deadline, abort.signal).catch((err: unknown) => {
          if (!abort.signal.aborted) firstError = err;
          abort.abort();
        })
      )
    );
    if (abort.signal.aborted)
      throw new Error(`JetStream not ready within ${timeoutMs} ms: ${String(firstError)}`);
  }

  /**
   * Resolves once a JetStream account-info request through `node` alone is answered, which a
   * clustered node does only once there is a meta leader. nats-server offers no event to wait for,
   * so this polls; and as a node without a leader drops such requests silently (the client only
   * times out), a request goes out every POLL_MS without waiting for the one before: the first
   * answer after the election ends the wait.
   */
  private async answered(node: ServerNode, deadline: number, signal: AbortSignal): Promise<void> {
    const nc = await connect({
      servers: node.url,
      token: this.token,
      timeout: Math.max(1, deadline - Date.now()),
      reconnect: false
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      const jsm = await nc.jetstreamManager({ checkAPI: false, timeout: REQUEST_TIMEOUT_MS });
      let lastError: unknown = 'no answer';
      await new Promise<void>((resolve, reject) => {
        const ask = (): void => {
          if (signal.aborted) return reject(new Error(`${node.name}: gave up`));
          if (Date.now() > deadline)
            return reject(new Error(`${node.name} (${node.url}): ${String(lastError)}`));
          jsm.getAccountInfo().then(
            () => resolve(),
            (err: unknown) => (lastError = err)
          );
          timer = setTimeout(ask, POLL_MS);
        };
        ask();
      });
    } finally {
      clearTimeout(timer);
      await nc.close(); // requests still out reject, handled above
    }
  }

  stop(): Promise<void> {
    for (const n of this.nodes) n.retired = true;
    this.stopping ??= Promise.allSettled(this.nodes.map((n) => n.stop())).then(() =>
      rmSync(this.dir, { recursive: true, force: true })
    );
    return this.stopping;
  }
}

/** Starts `size` nodes under one temp dir, routed together when there is more than one. */
async function startNodes(size: number, options: NodeOptions): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ringbus-nats-'));
    const free = await freePorts(size === 1 ? 1 : 2 * size);
    const ports = Array.from({ length: size }, (_, i) => ({
      client: free[i],
      route: size === 1 ? 0 : free[size + i]
    }));
    const nodes = ports.map((p, i) => {
      const nodeDir = path.join(dir, `n${i + 1}`);
      mkdirSync(nodeDir);
      const configFile = path.join(nodeDir, 'nats.conf');
      writeFileSync(configFile, configOf(i, ports, nodeDir, options));
      return new ServerNode(`n${i + 1}`, configFile, p.client);
    });
    const cluster = new ServerCluster(nodes, dir, options.jetstream ?? false, options.token);
    const started = await Promise.allSettled(nodes.map((n) => n.start()));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed === undefined) return cluster;
    await cluster.stop();
    const portTaken = nodes.some((n) => n.tail().includes('address already in use'));
    if (!portTaken || attempt === START_TRIES) throw failed.reason;
  }
}
