/**
 * The control channel of one measurement: a MessageChannel apart from the data path, on which the
 * worker says it is ready, that the warm-up arrived, and that the last message arrived (with the
 * count and the check of its payload). The worker end is a {@link Tally}, the parent end
 * {@link Reports}.
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import { isPayload } from './payload.js';

export type Report =
  { kind: 'ready' } | { kind: 'warm' } | { kind: 'done'; received: number; lastIsRight: boolean };

/**
 * Counts messages in the worker and reports on the control port: 'warm' when the warm-up count is
 * reached, 'done' when the total is (or the marked last message came early: messages were lost).
 */
export class Tally {
  received = 0;
  private isDone = false;

  constructor(
    private readonly port: MessagePort,
    readonly warmup: number,
    readonly total: number
  ) {}

  ready(): void {
    this.post({ kind: 'ready' });
  }

  /** One message arrived, at `bytes[start, end)`; true once it was the last. */
  one(bytes: Uint8Array, start: number, end: number): boolean {
    const n = ++this.received;
    if (n === this.warmup) this.post({ kind: 'warm' });
    if (n === this.total) this.finish(bytes, start, end);
    return n >= this.total;
  }

  /** `n` messages arrived at once, the last of them at `bytes[start, end)`. */
  many(n: number, bytes: Uint8Array, start: number, end: number): boolean {
    const before = this.received;
    const after = (this.received = before + n);
    if (before < this.warmup && after >= this.warmup) this.post({ kind: 'warm' });
    if (after >= this.total) this.finish(bytes, start, end);
    return after >= this.total;
  }

  /** Reports the end: the count and whether `bytes[start, end)` is the payload of the last message. */
  finish(bytes: Uint8Array, start: number, end: number): void {
    if (this.isDone) return;
    this.isDone = true;
    const lastIsRight = isPayload(bytes, start, end, this.total - 1);
    this.post({ kind: 'done', received: this.received, lastIsRight });
  }

  private post(report: Report): void {
    this.port.postMessage(report);
  }
}

/** How long the parent waits for any one report before it gives the measurement up. */
const REPORT_TIMEOUT_MS = 60_000;

/** The parent end: waits for the worker's reports in order; a worker that fails rejects them. */
export class Reports {
  private readonly queue: Report[] = [];
  private waiter: ((r: Report) => void) | undefined = undefined;
  private failure: Error | undefined = undefined;
  private fail: ((err: Error) => void) | undefined = undefined;

  constructor(
    private readonly port: MessagePort,
    worker: Worker
  ) {
    port.on('message', (r: Report) => {
      const w = this.waiter;
      if (w === undefined) this.queue.push(r);
      else w(r);
    });
    const failed = (err: Error): void => {
      this.failure ??= err;
      this.fail?.(this.failure);
    };
    worker.once('error', failed);
    worker.once('exit', (code) => {
      // A worker whose receiving loop returned exits with 0 once its last report is out.
      if (code !== 0) failed(new Error(`the worker exited with code ${code}`));
    });
  }

  /** The next report, which must be of `kind`. */
  async next<K extends Report['kind']>(kind: K): Promise<Extract<Report, { kind: K }>> {
    const r = this.queue.shift() ?? (await this.wait(kind));
    if (r.kind !== kind) throw new Error(`expected the worker's '${kind}' report, got '${r.kind}'`);
    return r as Extract<Report, { kind: K }>;
  }

  close(): void {
    this.port.close();
  }

  private wait(kind: string): Promise<Report> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<Report>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no '${kind}' report from the worker within ${REPORT_TIMEOUT_MS} ms`));
      }, REPORT_TIMEOUT_MS);
      const settle = (): void => {
        clearTimeout(timer);
        this.waiter = undefined;
        this.fail = undefined;
      };
      this.waiter = (r) => {
        settle();
        resolve(r);
      };
      this.fail = (err) => {
        settle();
        reject(err);
      };
    });
  }
}
