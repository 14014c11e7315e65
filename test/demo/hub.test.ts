/**
 * The `npm start` hub (demo/hub/): its HTTP routes, the admin token of the channel controls, and
 * the simulation seen from a linked bus. test/browser/demo.test.ts drives its pages in chromium.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Bus, ErrorCode } from '../../adapters/node.js';
import { type Demo, type DemoOptions, startDemo } from '../../demo/hub/demo.js';
import { demoOptions } from '../helpers/demo.js';
import { waitFor } from '../helpers/wait.js';

async function started(t: { after(fn: () => unknown): void }, extra?: Partial<DemoOptions>) {
  const demo = await startDemo(demoOptions(extra));
  t.after(() => demo.close());
  return demo;
}

async function control(demo: Demo, body: unknown, token?: string): Promise<[number, string]> {
  const res = await fetch(new URL('/control', demo.urls.dashboard), {
    method: 'POST',
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    body: JSON.stringify(body)
  });
  return [res.status, await res.text()];
}

describe('the npm start hub', () => {
  it('serves the pages, the browser build, /stats as JSON and /metrics as Prometheus text', async (t) => {
    const demo = await started(t);
    const get = (path: string) => fetch(new URL(path, demo.urls.dashboard));
    for (const [path, type, body] of [
      ['/', 'text/html', /<title>ringbus hub · dashboard<\/title>/u],
      ['/fanout', 'text/html', /sim\.entity\.\*/u],
      ['/ringbus.browser.js', 'text/javascript', /^.{100}/su],
      ['/metrics', 'text/plain', /^# TYPE ringbus_messages_published_total counter$/mu]
    ] as const) {
      const res = await get(path);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', new RegExp(`^${type}`, 'u'), path);
      assert.match(await res.text(), body, path);
    }
    const stats = (await (await get('/stats')).json()) as { id: string; channels: unknown[] };
    assert.equal(stats.id, 'hub');
    assert.equal((await get('/nothing')).status, 404);
  });

  it('streams entity positions and takes QoS 1 commands from a linked bus', async (t) => {
    const demo = await started(t);
    const client = new Bus({ id: 'client' });
    t.after(() => client.close());
    const seen = new Set<string>();
    client.subscribe('sim.entity.*', (msg) => void seen.add(msg.topic));
    const link = await client.connect(demo.urls.tcp);
    await waitFor(() => seen.size === 20, 3000, 'a position of every entity');
    await link.publish('sim.command', { kind: 'spawn', count: 5 }, { qos: 1 });
    await waitFor(() => demo.simulation.entities === 25, 2000, 'five more entities');
    await waitFor(() => seen.size === 25, 3000, 'their positions too');
    assert.equal(demo.simulation.commands, 1);
  });

  it('runs the channel controls, behind the admin token when one is set', async (t) => {
    const demo = await started(t, { adminToken: 's3cret' });
    const jobs = { pattern: 'jobs.>', channel: 'workers' };
    assert.equal((await control(demo, { ...jobs, action: 'pause' }))[0], 401);
    assert.equal((await control(demo, { ...jobs, action: 'pause' }, 'wrong'))[0], 401);
    assert.equal((await control(demo, { ...jobs, action: 'pause' }, 's3cret'))[0], 200);
    const paused = () => demo.hub.stats().channels.find((c) => c.channel === 'workers')?.paused;
    assert.equal(paused(), true);
    assert.equal((await control(demo, { ...jobs, action: 'resume' }, 's3cret'))[0], 200);
    assert.equal(paused(), false);
    const [status, text] = await control(demo, { ...jobs, action: 'explode' }, 's3cret');
    assert.deepEqual([status, text.startsWith('want {')], [400, true]);
  });

  it('refuses to bind beyond loopback without an admin token', async () => {
    await assert.rejects(startDemo(demoOptions({ host: '0.0.0.0' })), {
      code: ErrorCode.INVALID_OPTIONS,
      message: /admin token/u
    });
  });

  it('npm start prints its URLs and a summary line, and stops by itself with --seconds', async () => {
    const main = fileURLToPath(new URL('../../demo/hub/main.js', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [main, '--port', '0', '--tcp-port', '0', '--entities', '10', '--seconds', '5.5'],
      { timeout: 20_000 }
    );
    assert.match(stdout, /^ringbus demo hub: 10 entities at 60 Hz/u);
    for (const what of ['dashboard   http://', 'fan-out     http://', 'links       ws://'])
      assert.ok(stdout.includes(what), `${what} in:\n${stdout}`);
    assert.match(stdout, /^[\d,]+ msgs\/s published · \d+ links · 10 entities/mu);
  });
});
