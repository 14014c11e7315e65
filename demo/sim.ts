/**
 * `npm run demo:sim`: a small game loop whose subsystems talk only through one ringbus bus.
 *
 * - physics moves 200 entities and publishes `sim.entity.<n>.pos` every tick;
 * - AI watches every position through a wildcard, conflating queue and steers entities by
 *   sending QoS 1 commands on the named channel `ai.cmd`;
 * - two physics workers share that channel (round-robin) and ack each command they apply;
 * - render pulls positions a few times per second from a small queue, so it drops on purpose,
 *   reads the retained `sim.config`, and asks physics for a snapshot by request/reply.
 *
 * The bus runs with `dispatch: 'manual'`: nothing is delivered until the loop calls
 * `bus.flush()`, once per tick, so every tick sees the same order of events.
 *
 * Usage: `node dist/demo/sim.js [--seconds N]` (or `RINGBUS_DEMO_SECONDS=N`); default 10 s.
 */
import {
  Bus,
  type BusStats,
  type ChannelControl,
  type Message,
  RingbusError,
  type Subscription,
  type Topic
} from '../adapters/node.js';

const TICKS_PER_SECOND = 60;
const ENTITY_COUNT = 200;
const WORLD_SIZE = 1000;
/** AI thinks at 20 Hz: between two thoughts its conflating queue keeps one position per entity. */
const AI_THINK_EVERY = 3;
/** Render draws at 15 fps from a 64-message queue: 200 positions a tick cannot all fit. */
const RENDER_EVERY = 4;
const RENDER_QUEUE_SIZE = 64;

interface Vec {
  x: number;
  y: number;
}
interface Position extends Vec {
  entity: number;
}
interface Command {
  entity: number;
  vx: number;
  vy: number;
}
interface SimConfig {
  worldSize: number;
  entities: number;
  ticksPerSecond: number;
}

/** Owns the entities: integrates motion, publishes positions, applies AI commands. */
class Physics {
  readonly positions: Vec[] = [];
  readonly velocities: Vec[] = [];
  /** Commands applied per worker: shows the channel's round-robin. */
  readonly appliedBy = [0, 0];
  /** Topic handles: resolved once, so the 200 publishes per tick skip the topic lookup. */
  private readonly topics: Topic[];
  /** Commands delivered by the last flush; applied (and acked) at the start of the next step. */
  private pending: { worker: number; msg: Message }[] = [];

  constructor(private readonly bus: Bus) {
    for (let i = 0; i < ENTITY_COUNT; i++) {
      this.positions.push({ x: random(WORLD_SIZE), y: random(WORLD_SIZE) });
      this.velocities.push({ x: random(4) - 2, y: random(4) - 2 });
    }
    this.topics = this.positions.map((_, i) => bus.topic(`sim.entity.${i}.pos`));
    // Retained: subsystems that start later still learn the world's shape on subscribe.
    bus.publish(
      'sim.config',
      { worldSize: WORLD_SIZE, entities: ENTITY_COUNT, ticksPerSecond: TICKS_PER_SECOND },
      { retain: true }
    );
    this.startWorkers();
    bus.subscribe('physics.snapshot', (msg) => msg.respond({ entities: this.positions.length }));
  }

  /** Two workers share the `ai.cmd` channel: each command goes to one of them, at least once. */
  private startWorkers(): void {
    for (const worker of [0, 1]) {
      this.bus.subscribe('ai.cmd', (msg: Message) => this.take(worker, msg), {
        channel: 'physics-workers',
        qos: 1,
        autoAck: false, // ack once the command is applied, not when the handler returns
        maxInFlight: 32 // flow control: at most 32 unapplied commands per worker
      });
    }
  }

  /** A worker only takes the command; physics applies it between steps, never mid-step. */
  private take(worker: number, msg: Message): void {
    this.pending.push({ worker, msg });
  }

  /** Applies the commands taken since the last step and acks them: they are in flight till now. */
  applyCommands(): void {
    for (const { worker, msg } of this.pending) {
      const cmd = msg.payload as Command;
      this.velocities[cmd.entity] = { x: cmd.vx, y: cmd.vy };
      this.appliedBy[worker]++;
      msg.ack(); // frees a maxInFlight slot: the channel delivers more on the next flush
    }
    this.pending = [];
  }

  /** One fixed time step: apply commands, move (stopping at the walls), publish every position. */
  step(): void {
    this.applyCommands();
    for (let i = 0; i < this.positions.length; i++) {
      const p = this.positions[i];
      const v = this.velocities[i];
      p.x = clamp(p.x + v.x, 0, WORLD_SIZE);
      p.y = clamp(p.y + v.y, 0, WORLD_SIZE);
      // A fresh object per publish: payloads pass by reference, and a queued message must not
      // change under its consumer.
      this.topics[i].publish({ entity: i, x: p.x, y: p.y } satisfies Position);
    }
  }
}

/** Steers entities away from the walls, thinking at 20 Hz on the latest positions only. */
class Ai {
  private readonly latest = new Map<number, Position>();
  readonly sub: Subscription;
  commandsSent = 0;

  constructor(private readonly bus: Bus) {
    // conflate: a position is stale once a newer one exists, so the queue keeps one per entity.
    this.sub = bus.subscribe('sim.entity.*.pos', (msg) => this.see(msg.payload as Position), {
      conflate: true,
      queueSize: 256
    });
    this.sub.pause();
  }

  private see(pos: Position): void {
    this.latest.set(pos.entity, pos);
  }

  /** Called every tick; listens only on thinking ticks, and steers from what it saw last time. */
  tick(tick: number): void {
    if (tick % AI_THINK_EVERY !== 0) return;
    this.think();
    this.sub.resume(); // this tick's flush delivers one (conflated) position per entity
  }

  /** Re-pauses after the flush, so positions pile up (and conflate) until the next thought. */
  afterFlush(): void {
    this.sub.pause();
  }

  private think(): void {
    const margin = WORLD_SIZE * 0.05;
    for (const pos of this.latest.values()) {
      const nearWall =
        pos.x < margin ||
        pos.x > WORLD_SIZE - margin ||
        pos.y < margin ||
        pos.y > WORLD_SIZE - margin;
      if (!nearWall) continue;
      const towardCentre = { x: WORLD_SIZE / 2 - pos.x, y: WORLD_SIZE / 2 - pos.y };
      const length = Math.hypot(towardCentre.x, towardCentre.y) || 1;
      const speed = 1 + random(2);
      const cmd: Command = {
        entity: pos.entity,
        vx: (towardCentre.x / length) * speed,
        vy: (towardCentre.y / length) * speed
      };
      // QoS 1: a steering command must not be lost; the workers ack it.
      this.bus.publish('ai.cmd', cmd, { qos: 1 });
      this.commandsSent++;
    }
    this.latest.clear();
  }
}

/** Draws a few times per second from a small queue: positions it is too slow for are dropped. */
class Render {
  readonly positions: Subscription;
  frames = 0;
  drawn = 0;
  config: SimConfig | undefined;
  snapshots = 0;
  lastSnapshotEntities = 0;

  constructor(private readonly bus: Bus) {
    // A pull consumer: nothing is delivered until render asks, so its 64-slot queue overflows
    // between frames (drop-oldest, the QoS 0 default, keeps the newest positions).
    this.positions = bus.subscribe('sim.entity.*.pos', { queueSize: RENDER_QUEUE_SIZE });
    // Subscribed after physics published it: the retained message arrives anyway.
    bus.subscribe('sim.config', (msg) => {
      this.config = msg.payload as SimConfig;
    });
  }

  tick(tick: number): void {
    if (tick % RENDER_EVERY === 0) void this.frame();
    if (tick % TICKS_PER_SECOND === 0) void this.askSnapshot();
  }

  private async frame(): Promise<void> {
    const batch = await this.positions.pull(RENDER_QUEUE_SIZE); // resolves at once with what is queued
    this.frames++;
    this.drawn += batch.length;
  }

  /** Request/reply: the reply arrives through the bus, a flush or two later. */
  private async askSnapshot(): Promise<void> {
    try {
      const reply = await this.bus.request('physics.snapshot', null, { timeoutMs: 1000 });
      this.snapshots++;
      this.lastSnapshotEntities = (reply.payload as { entities: number }).entities;
    } catch (err) {
      // The bus closing under a pending request is the normal way the demo ends.
      if (!(err instanceof RingbusError && err.code === 'ERR_CLOSED')) throw err;
    }
  }
}

/**
 * Prints one status line per second: rates and totals from `bus.stats()`, plus the peak queue
 * depths and in-flight count seen during that second (sampled every tick through the cheap
 * `pending` / channel getters; `stats()` builds a full snapshot, so it runs once per second).
 * On a TTY the line is overwritten in place; otherwise one line per second is appended.
 */
class Reporter {
  private last: BusStats['totals'] | undefined;
  private readonly tty = process.stdout.isTTY === true;
  private peak = { ai: 0, render: 0, cmd: 0, inFlight: 0 };

  constructor(
    private readonly bus: Bus,
    private readonly ai: Subscription,
    private readonly render: Subscription,
    private readonly commands: ChannelControl
  ) {}

  /** Before the flush: queues are at their fullest. */
  sampleQueues(): void {
    const p = this.peak;
    p.ai = Math.max(p.ai, this.ai.pending);
    p.render = Math.max(p.render, this.render.pending);
    p.cmd = Math.max(p.cmd, this.commands.depth);
  }

  /** After the flush: delivered commands wait in flight until the next physics step acks them. */
  sampleInFlight(): void {
    this.peak.inFlight = Math.max(this.peak.inFlight, this.commands.inFlight);
  }

  report(second: number): void {
    const t = this.bus.stats().totals;
    const prev = this.last ?? { published: 0, delivered: 0 };
    this.last = t;
    const p = this.peak;
    const line =
      `t=${String(second).padStart(2)}s  ${fmt(t.published - prev.published)} msgs/s  ${fmt(t.delivered - prev.delivered)} deliveries/s` +
      `  peak depth ai=${p.ai} render=${p.render} cmd=${p.cmd}  in-flight ${p.inFlight}` +
      `  dropped ${fmt(t.dropped.overflow)}  conflated ${fmt(t.conflated)}  acked ${fmt(t.acked)}`;
    this.peak = { ai: 0, render: 0, cmd: 0, inFlight: 0 };
    // Overwriting with \r only works while the line fits on one terminal row.
    if (this.tty)
      process.stdout.write(`\r${line.slice(0, (process.stdout.columns || 80) - 1)}\x1b[K`);
    else console.log(line);
  }

  /** Ends the overwritten line so the summary starts on its own. */
  done(): void {
    if (this.tty) process.stdout.write('\n');
  }
}

/** Runs `tick` at a fixed rate; a setTimeout chain that corrects drift instead of accumulating it. */
function fixedRate(perSecond: number, tick: (n: number) => void): { stop(): void } {
  const period = 1000 / perSecond;
  const start = performance.now();
  let n = 0;
  let running = true;
  let timer: NodeJS.Timeout | undefined;
  const next = () => {
    tick(++n);
    // tick() may have stopped the loop: no further timer then.
    if (running)
      timer = setTimeout(next, Math.max(0, start + (n + 1) * period - performance.now()));
  };
  timer = setTimeout(next, period);
  return {
    stop: () => {
      running = false;
      clearTimeout(timer);
    }
  };
}

function main(): void {
  const seconds = parseSeconds();
  const bus = new Bus({ dispatch: 'manual' });
  const physics = new Physics(bus);
  const ai = new Ai(bus);
  const render = new Render(bus);
  const reporter = new Reporter(
    bus,
    ai.sub,
    render.positions,
    bus.channel('ai.cmd', 'physics-workers')
  );
  // Stop on a tick count rather than a wall-clock timer, so the last second is reported too.
  const lastTick = Math.max(1, Math.round(seconds * TICKS_PER_SECOND));
  let ticks = 0;

  console.log(
    `ringbus demo: ${ENTITY_COUNT} entities at ${TICKS_PER_SECOND} ticks/s for ${seconds} s (Ctrl-C stops)`
  );
  const loop = fixedRate(TICKS_PER_SECOND, (tick) => {
    ticks = tick;
    physics.step();
    ai.tick(tick);
    render.tick(tick);
    reporter.sampleQueues();
    bus.flush(); // the one point per tick where messages are delivered
    ai.afterFlush();
    reporter.sampleInFlight();
    if (tick % TICKS_PER_SECOND === 0) reporter.report(tick / TICKS_PER_SECOND);
    if (tick === lastTick) void stop();
  });

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    loop.stop();
    reporter.done();
    // QoS 1 commands must not be lost: apply what is queued or in flight before closing
    // (bounded: each round frees maxInFlight credit for the next).
    const commands = bus.channel('ai.cmd', 'physics-workers');
    for (let round = 0; round < 100 && commands.depth + commands.inFlight > 0; round++) {
      bus.flush();
      physics.applyCommands();
    }
    const beforeClose = bus.stats();
    await bus.close();
    printSummary(beforeClose, ticks, physics, ai, render);
    process.exitCode = 0;
  };
  process.once('SIGINT', () => void stop());
}

function printSummary(
  stats: BusStats,
  ticks: number,
  physics: Physics,
  ai: Ai,
  render: Render
): void {
  const t = stats.totals;
  const lines = [
    `ran ${ticks} ticks (${(stats.uptimeMs / 1000).toFixed(1)} s), bus closed`,
    `published ${t.published}, delivered ${t.delivered}, acked ${t.acked}, redelivered ${t.redelivered}, dead-lettered ${t.deadLettered}`,
    `dropped ${t.dropped.overflow} (overflow) / ${t.dropped.expired} (expired), conflated ${t.conflated}, handler errors ${t.handlerErrors}`,
    `ai commands sent ${ai.commandsSent}; applied by worker 0: ${physics.appliedBy[0]}, worker 1: ${physics.appliedBy[1]}`,
    `render: ${render.frames} frames, ${render.drawn} positions drawn, config ${render.config ? `${render.config.worldSize}x${render.config.worldSize}` : 'missing'}`,
    `snapshot replies ${render.snapshots} (physics reports ${render.lastSnapshotEntities} entities)`
  ];
  console.log(lines.join('\n'));
}

/** `--seconds N`, else RINGBUS_DEMO_SECONDS, else 15. */
function parseSeconds(): number {
  const at = process.argv.indexOf('--seconds');
  const raw = at >= 0 ? process.argv[at + 1] : process.env.RINGBUS_DEMO_SECONDS;
  if (raw === undefined || raw === '') return 10;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    console.error(`--seconds must be a positive number (got ${raw})`);
    process.exit(2);
  }
  return seconds;
}

function fmt(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : String(n);
}

function random(max: number): number {
  return Math.random() * max;
}

function clamp(value: number, min: number, max: number): number {
  return value < min ? min : value > max ? max : value;
}

main();
