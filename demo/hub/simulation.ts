import type { Bus, Message, Topic } from '../../adapters/node.js';

/** Topics of the demo's simulation: `sim.entity.<n>` positions, `sim.command` QoS 1 commands. */
export const ENTITY_PREFIX = 'sim.entity';
export const COMMAND_TOPIC = 'sim.command';

const FIELD = 1000;
const MAX_ENTITIES = 2000;
const SPEED = 120; // units per second

/** What a page may ask of the simulation. */
export type Command = { kind: 'spawn'; count: number } | { kind: 'scatter' };

/** One entity's position as published: field units, rounded. */
export interface Position {
  x: number;
  y: number;
}

/**
 * Entities drifting over a 1000 × 1000 field and bouncing off its edges; every tick publishes each
 * one's position on its own topic (`sim.entity.<n>`), so a page that conflates keeps only the
 * latest per entity. Commands arrive as QoS 1 messages on `sim.command` and are acked once
 * applied.
 */
export class Simulation {
  private readonly x: number[] = [];
  private readonly y: number[] = [];
  private readonly vx: number[] = [];
  private readonly vy: number[] = [];
  private readonly topics: Topic[] = [];
  private timer: ReturnType<typeof setInterval> | undefined = undefined;
  /** Commands applied since the start. */
  commands = 0;

  constructor(
    private readonly bus: Bus,
    entities: number,
    private readonly hz: number
  ) {
    this.spawn(entities);
    bus.subscribe(COMMAND_TOPIC, (msg: Message) => this.apply(msg.payload), {
      qos: 1,
      channel: 'simulation'
    });
  }

  get entities(): number {
    return this.x.length;
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(1 / this.hz), 1000 / this.hz);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Moves every entity by `dt` seconds and publishes its position. */
  tick(dt: number): void {
    for (let i = 0; i < this.x.length; i++) {
      this.x[i] = bounce(this.x[i] + this.vx[i] * dt, this.vx, i);
      this.y[i] = bounce(this.y[i] + this.vy[i] * dt, this.vy, i);
      const position: Position = { x: Math.round(this.x[i]), y: Math.round(this.y[i]) };
      this.topics[i].publish(position);
    }
  }

  /** Applies a command; anything else is refused by throwing (the sender's message dead-letters). */
  apply(command: unknown): void {
    const c = command as Partial<Command> | null;
    if (c?.kind === 'scatter') {
      for (let i = 0; i < this.x.length; i++) this.aim(i);
    } else if (c?.kind === 'spawn' && Number.isInteger(c.count) && c.count! > 0) {
      this.spawn(Math.min(c.count!, MAX_ENTITIES - this.x.length));
    } else {
      throw new TypeError(`unknown command ${JSON.stringify(command)}`);
    }
    this.commands++;
  }

  private spawn(count: number): void {
    for (let n = 0; n < count; n++) {
      const i = this.x.length;
      this.x.push(Math.random() * FIELD);
      this.y.push(Math.random() * FIELD);
      this.vx.push(0);
      this.vy.push(0);
      this.aim(i);
      this.topics.push(this.bus.topic(`${ENTITY_PREFIX}.${i}`));
    }
  }

  private aim(i: number): void {
    const angle = Math.random() * 2 * Math.PI;
    this.vx[i] = Math.cos(angle) * SPEED;
    this.vy[i] = Math.sin(angle) * SPEED;
  }
}

/** Keeps a coordinate on the field, turning the velocity around at an edge. */
function bounce(v: number, velocity: number[], i: number): number {
  if (v < 0 || v > FIELD) velocity[i] = -velocity[i];
  return Math.min(FIELD, Math.max(0, v));
}
