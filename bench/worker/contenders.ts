/** Every worker-thread contender, in table order; filters and the worker entry find them by id. */
import type { WorkerContender } from './contender.js';
import { handRingInPlace, handRingSet } from './contenders/hand-ring.js';
import { postMessageArray, postMessageOne, postMessagePacked } from './contenders/post-message.js';
import { ringBatch, ringInPlace, ringSet } from './contenders/ring-api.js';
import { ringbusLink } from './contenders/ringbus-link.js';

export const WORKER_CONTENDERS: readonly WorkerContender[] = [
  ringbusLink,
  ringBatch,
  ringInPlace,
  ringSet,
  postMessageOne,
  postMessageArray,
  postMessagePacked,
  handRingInPlace,
  handRingSet
];

/** The contender the ratio column divides by: per-message postMessage. */
export const BASELINE_ID = postMessageOne.id;

export function contenderById(id: string): WorkerContender {
  const c = WORKER_CONTENDERS.find((x) => x.id === id);
  if (c === undefined) throw new Error(`no worker contender '${id}'`);
  return c;
}
