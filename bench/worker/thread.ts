/**
 * The worker entry of every measurement (measure.ts starts one per measurement): runs the
 * receiving or echoing side of the contender named in `workerData`.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import type { Task } from './contender.js';
import { contenderById } from './contenders.js';
import { Tally } from './control.js';

export interface ThreadData {
  task: Task;
  /** The worker end of the control channel (control.ts). */
  control: MessagePort;
}

const { task, control } = workerData as ThreadData;
const contender = contenderById(task.contender);
if (task.kind === 'throughput') {
  await contender.receive(task, new Tally(control, task.warmup, task.total));
} else {
  const roundTrip = contender.roundTrip;
  if (roundTrip === undefined) throw new Error(`${contender.id} takes no part in round trips`);
  await roundTrip.echo(task, () => control.postMessage({ kind: 'ready' }));
}
