// Compiled with `tsc -p test/types` (no emit): lines marked @ts-expect-error must fail to type-check.
import { Bus, type Message, type PayloadOf, type Subscription } from '../../src/index.js';

interface Topics {
  'player.move': { x: number; y: number };
  'player.chat': string;
  'world.tick': number;
}

const bus = new Bus<Topics>({ dispatch: 'manual' });

bus.publish('player.move', { x: 1, y: 2 });
bus.publish('player.chat', 'hi');
// @ts-expect-error wrong payload type for the topic
bus.publish('player.move', 'not a position');
// @ts-expect-error unknown topic on a typed bus
bus.publish('player.jump', 1);

bus.subscribe('player.move', (msg) => {
  const x: number = msg.payload.x;
  // @ts-expect-error no such field on the payload
  void msg.payload.z;
  return x;
});

// A wildcard subscription receives the union of the payloads it matches.
bus.subscribe('player.*', (msg: Message<{ x: number; y: number } | string>) => msg.topic);
const union: PayloadOf<Topics, 'player.*'> = 'chat';
const all: PayloadOf<Topics, '>'> = 3;
void union;
void all;
bus.subscribe('player.*', (msg) => {
  // @ts-expect-error the payload may be a string, so .x needs narrowing
  void msg.payload.x;
});

// @ts-expect-error a pattern that matches no declared topic is a typo
bus.subscribe('plyer.*', () => undefined);

// System patterns are always allowed.
bus.subscribe('$dlq.>', () => undefined);

// Pull mode keeps the payload type.
const pull: Subscription<number> = bus.subscribe('world.tick', { qos: 1 });
void pull;

// Topic handles are typed too.
bus.topic('world.tick').publish(1);
// @ts-expect-error a handle publishes its own payload type only
bus.topic('world.tick').publish('one');

// Untyped buses take any topic and payload.
const loose = new Bus();
loose.publish('anything.at.all', { any: 'thing' });
loose.subscribe('anything.>', (msg) => msg.payload);

// Events are typed.
bus.on('drop', (event) => {
  const reason: 'overflow' | 'expired' | 'emptied' = event.reason;
  void reason;
});
// @ts-expect-error not an event of the bus
bus.on('dropped', () => undefined);
