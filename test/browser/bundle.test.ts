/**
 * The browser build (build/ringbus.browser.js, what dist/ringbus.browser.js ships) as a page
 * would use it, run in Node with the `ws` package standing in for the platform WebSocket: no Node
 * built-ins inside, a full bus against a Node hub, and the same behaviour over the link as any
 * bus. test/browser/chromium.test.ts repeats the page's part in a real browser.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { WebSocket } from 'ws';
import type * as BrowserEntry from '../../adapters/browser.js';
import { Bus as NodeBus } from '../../adapters/node.js';
import { makeBus } from '../helpers/bus.js';
import { waitFor } from '../helpers/wait.js';

const BUNDLE = new URL('../../ringbus.browser.js', import.meta.url);

// What a page has and Node 20 lacks.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
const browser = (await import(BUNDLE.href)) as typeof BrowserEntry;

describe('the browser build', () => {
  it('is one ES module with no Node built-ins, tsyringe or reflect polyfill', () => {
    const code = readFileSync(BUNDLE, 'utf8');
    assert.doesNotMatch(code, /\brequire\(|from\s*["']node:|import\(["']node:/u);
    assert.doesNotMatch(code, /tsyringe|Reflect\.(getMetadata|defineMetadata)/u);
    assert.equal(typeof browser.Bus, 'function');
  });

  it('is as large as docs/browser.md says (min + gzip, within 5 %), reported on every run', (t) => {
    const code = readFileSync(BUNDLE, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/u, '');
    const kb = gzipSync(code, { level: 9 }).length / 1024;
    t.diagnostic(
      `browser build: ${(code.length / 1024).toFixed(1)} KB minified, ${kb.toFixed(1)} KB min + gzip (budget 12 KB)`
    );
    const docs = readFileSync(new URL('../../../docs/browser.md', import.meta.url), 'utf8');
    const stated = /\*\*([\d.]+) KB\*\* minified \+ gzip/u.exec(docs);
    assert.ok(stated !== null, 'docs/browser.md states the size');
    const documented = Number(stated[1]);
    assert.ok(
      Math.abs(kb - documented) <= 0.05 * documented,
      `measured ${kb.toFixed(1)} KB, docs/browser.md says ${documented} KB: update the docs`
    );
  });

  it('refuses to listen, naming what to do instead', async () => {
    const bus = new browser.Bus();
    await assert.rejects(bus.listen('ws://127.0.0.1:0/bus'), {
      code: 'ERR_UNSUPPORTED_SCHEME',
      message: /can only connect/u
    });
    await assert.rejects(bus.connect('tcp://127.0.0.1:1'), { code: 'ERR_UNSUPPORTED_SCHEME' });
    await bus.close();
  });

  it('subscribes with a wildcard, receives every payload kind, acks QoS 1 and publishes back', async (t) => {
    const hub = makeBus(t);
    const listener = await hub.listen('ws://127.0.0.1:0/bus');
    const page = new browser.Bus({ id: 'page' });
    t.after(() => page.close());
    const got: [string, unknown, number][] = [];
    page.subscribe('sim.>', (msg) => void got.push([msg.topic, msg.payload, msg.attempt]));
    page.subscribe('jobs.*', () => undefined, { qos: 1, channel: 'workers' });
    const link = await page.connect(listener.url);

    hub.publish('sim.bytes', Uint8Array.of(1, 2, 3));
    hub.publish('sim.text', 'héllo');
    hub.publish('sim.json', { x: 1, list: [true, null] });
    hub.publish('sim.none', undefined);
    for (let i = 0; i < 5; i++) hub.publish('jobs.build', `job ${i}`, { qos: 1 });
    await link.flush();
    assert.deepEqual(got, [
      ['sim.bytes', Uint8Array.of(1, 2, 3), 1],
      ['sim.text', 'héllo', 1],
      ['sim.json', { x: 1, list: [true, null] }, 1],
      ['sim.none', undefined, 1]
    ]);
    await waitFor(
      () => hub.stats().channels.some((c) => c.channel === 'workers' && c.acked === 5),
      2000,
      'the hub saw five acks from the page'
    );

    const commands: unknown[] = [];
    hub.subscribe('cmd.>', (msg) => void commands.push(msg.payload));
    await link.publish('cmd.spawn', { kind: 'tank' }, { qos: 1 });
    assert.deepEqual(commands, [{ kind: 'tank' }]);
  });

  it('reconnects after the server restarts, with its subscriptions restored', async (t) => {
    const hub = new NodeBus({ id: 'hub' });
    t.after(() => hub.close());
    let listener = await hub.listen('ws://127.0.0.1:0/bus');
    const url = listener.url;
    const page = new browser.Bus({ id: 'page' });
    t.after(() => page.close());
    const got: unknown[] = [];
    page.subscribe('news.*', (msg) => void got.push(msg.payload));
    const link = await page.connect(url, { reconnect: { initialDelayMs: 20, maxDelayMs: 100 } });
    const downs: unknown[] = [];
    page.on('link-down', (e) => void downs.push(e.link));

    await listener.close();
    await waitFor(() => link.state !== 'up', 2000, 'the page saw the server go');
    listener = await hub.listen(url);
    await waitFor(() => link.state === 'up', 5000, 'the page reconnected');
    await link.flush();
    hub.publish('news.a', 'after the restart');
    await link.flush();
    assert.deepEqual(got, ['after the restart']);
    assert.equal(downs.length, 1);
  });
});
