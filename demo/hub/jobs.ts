import type { Bus } from '../../adapters/node.js';

/** The named channel of the demo's job queue (`jobs.>`), for the dashboard's channel controls. */
export const JOBS_PATTERN = 'jobs.>';
export const JOBS_CHANNEL = 'workers';

/**
 * A small QoS 1 work queue, so the dashboard has a channel to watch and control: jobs are
 * published at `perSecond`, and two workers in the hub share the channel, each taking a few
 * milliseconds per job. Pausing the channel from the dashboard makes its depth grow; emptying it
 * drops what waits; deleting it removes it until the workers subscribe again on restart.
 */
export class Jobs {
  private timer: ReturnType<typeof setInterval> | undefined = undefined;
  private seq = 0;

  constructor(
    private readonly bus: Bus,
    private readonly perSecond: number
  ) {
    for (let w = 0; w < 2; w++) {
      bus.subscribe(JOBS_PATTERN, () => new Promise<void>((done) => setTimeout(done, 2 + w * 3)), {
        qos: 1,
        channel: JOBS_CHANNEL,
        maxInFlight: 4
      });
    }
  }

  start(): void {
    this.timer ??= setInterval(
      () => this.bus.publish('jobs.render', { job: ++this.seq }, { qos: 1 }),
      1000 / this.perSecond
    );
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
