/**
 * Adapters for the peer libraries. Each adapter wires a {@link Shape} onto its library's own API
 * and owns its publishing loop: a shared generic loop would make the `emit` call site
 * megamorphic and slow every library down by a different amount.
 */
import Emittery from 'emittery';
import { EventEmitter as EventEmitter3 } from 'eventemitter3';
import mittImport from 'mitt';
import { EventEmitter as NodeEventEmitter } from 'node:events';
import { Subject } from 'rxjs';
import { EventEmitter as Tseep } from 'tseep';
import type { Contender } from './harness.js';
import {
  PAYLOAD_MASK,
  type Payload,
  type Shape,
  type Sink,
  newSink,
  otherTopicNames,
  payloads,
  peerListeners,
  strayHandler
} from './shape.js';

/** Builds one library's contender for a shape; `n` is the messages per timed run. */
export interface Library {
  name: string;
  /** True when each message costs a promise round trip: such libraries get a smaller `n`. */
  async: boolean;
  make(shape: Shape, n: number): Contender;
}

/** mitt's types are CJS-shaped while Node loads its ESM build, whose default export is the factory. */
const mitt = mittImport as unknown as typeof mittImport.default;

/** Attaches the shape's listeners (and the never-called ones on other topics) through `on`. */
function wire(shape: Shape, on: (topic: string, listener: (p: Payload) => void) => unknown): Sink {
  const sink = newSink();
  for (const l of peerListeners(shape, sink)) on(shape.topic, l);
  for (const t of otherTopicNames(shape)) on(t, strayHandler(sink));
  return sink;
}

export const nodeEvents: Library = {
  name: 'node:events',
  async: false,
  make(shape, n) {
    const ee = new NodeEventEmitter();
    ee.setMaxListeners(0);
    const sink = wire(shape, (t, l) => ee.on(t, l));
    const topic = shape.topic;
    const run = (count: number): void => {
      for (let i = 0; i < count; i++) ee.emit(topic, payloads[i & PAYLOAD_MASK]);
    };
    return { name: this.name, run, delivered: () => sink.count, n };
  }
};

export const eventemitter3: Library = {
  name: 'eventemitter3',
  async: false,
  make(shape, n) {
    const ee = new EventEmitter3();
    const sink = wire(shape, (t, l) => ee.on(t, l));
    const topic = shape.topic;
    const run = (count: number): void => {
      for (let i = 0; i < count; i++) ee.emit(topic, payloads[i & PAYLOAD_MASK]);
    };
    return { name: this.name, run, delivered: () => sink.count, n };
  }
};

export const mittLib: Library = {
  name: 'mitt',
  async: false,
  make(shape, n) {
    const em = mitt<Record<string, Payload>>();
    const sink = wire(shape, (t, l) => em.on(t, l));
    const topic = shape.topic;
    const run = (count: number): void => {
      for (let i = 0; i < count; i++) em.emit(topic, payloads[i & PAYLOAD_MASK]);
    };
    return { name: this.name, run, delivered: () => sink.count, n };
  }
};

export const tseep: Library = {
  name: 'tseep',
  async: false,
  make(shape, n) {
    const ee = new Tseep<Record<string, (p: Payload) => void>>();
    const sink = wire(shape, (t, l) => ee.on(t, l));
    const topic = shape.topic;
    const run = (count: number): void => {
      for (let i = 0; i < count; i++) ee.emit(topic, payloads[i & PAYLOAD_MASK]);
    };
    return { name: this.name, run, delivered: () => sink.count, n };
  }
};

/**
 * One Subject per topic. The published Subject is held directly, the RxJS counterpart of a
 * pre-resolved `bus.topic()` handle, so RxJS pays no name lookup (and other topics cost it
 * nothing).
 */
export const rxjs: Library = {
  name: 'rxjs Subject',
  async: false,
  make(shape, n) {
    const subject = new Subject<Payload>();
    const sink = wire(shape, (t, l) =>
      (t === shape.topic ? subject : new Subject<Payload>()).subscribe(l)
    );
    const run = (count: number): void => {
      for (let i = 0; i < count; i++) subject.next(payloads[i & PAYLOAD_MASK]);
    };
    return { name: this.name, run, delivered: () => sink.count, n };
  }
};

/** Emittery is promise-based: `await emit()` per message is its normal use. */
export const emittery: Library = {
  name: 'emittery',
  async: true,
  make(shape, n) {
    const em = new Emittery<Record<string, Payload>>();
    const sink = wire(shape, (t, l) => em.on(t, l));
    const topic = shape.topic;
    const run = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) await em.emit(topic, payloads[i & PAYLOAD_MASK]);
    };
    return { name: this.name, run, delivered: () => sink.count, n };
  }
};

/** Every peer, in table order. */
export const peers: readonly Library[] = [
  nodeEvents,
  eventemitter3,
  mittLib,
  tseep,
  rxjs,
  emittery
];
