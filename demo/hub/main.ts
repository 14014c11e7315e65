/**
 * `npm start`: the hub demo on embedded defaults, loopback only. Prints where everything is and
 * a live summary line until Ctrl-C.
 *
 * Usage: `node dist/demo/hub/main.js [--port 8080] [--tcp-port 4222] [--entities 200]
 * [--host 127.0.0.1 --admin-token T] [--seconds N]`
 */
import { parseArgs } from 'node:util';
import type { BusStats } from '../../adapters/node.js';
import { JOBS_CHANNEL } from './jobs.js';
import { startDemo } from './demo.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8080' },
    'tcp-port': { type: 'string', default: '4222' },
    entities: { type: 'string', default: '200' },
    'admin-token': { type: 'string' },
    seconds: { type: 'string' }
  }
});

const demo = await startDemo({
  host: values.host,
  httpPort: Number(values.port),
  tcpPort: Number(values['tcp-port']),
  entities: Number(values.entities),
  ...(values['admin-token'] === undefined ? {} : { adminToken: values['admin-token'] }),
  assets: {
    pages: new URL('../../../demo/hub/pages/', import.meta.url),
    bundle: new URL('../../ringbus.browser.js', import.meta.url)
  }
});
const { urls } = demo;
console.log(`ringbus demo hub: ${demo.simulation.entities} entities at 60 Hz (Ctrl-C stops)
  dashboard   ${urls.dashboard}
  fan-out     ${urls.fanout}
  HTTP        ${urls.dashboard}stats (JSON), ${urls.dashboard}metrics (Prometheus)
  links       ${urls.ws}  ${urls.tcp}  ${urls.unix}
  try         node dist/cli/main.js sub ${urls.tcp} 'sim.entity.7' --count 3`);

let last: BusStats = demo.hub.stats();
const tty = process.stdout.isTTY === true;
const every = tty ? 1 : 5;
const summary = setInterval(() => {
  const now = demo.hub.stats();
  const rate = (now.totals.published - last.totals.published) / every;
  const jobs = now.channels.find((c) => c.channel === JOBS_CHANNEL);
  const line =
    `${Math.round(rate).toLocaleString('en')} msgs/s published · ${now.links.length} links · ` +
    `${demo.simulation.entities} entities · ${demo.simulation.commands} commands · ` +
    `jobs depth ${jobs?.depth ?? '-'}${jobs?.paused === true ? ' (paused)' : ''} · ` +
    `${now.totals.dropped.overflow} dropped`;
  process.stdout.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
  last = now;
}, every * 1000);

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  clearInterval(summary);
  if (tty) process.stdout.write('\n');
  await demo.close();
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
if (values.seconds !== undefined) setTimeout(() => void stop(), Number(values.seconds) * 1000);
