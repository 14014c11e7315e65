/**
 * The browser build in a real browser: Debian's chromium, driven by playwright-core, loads a page
 * that imports dist's ESM file the way an app would (`<script type="module">`), links to a Node
 * hub over WebSocket, and is checked through the page's own state and DOM. CI installs chromium
 * (.ci/run); without it this file skips, saying so.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { Bus } from '../../adapters/node.js';
import { ARTIFACTS, chromiumMissing, launchChromium } from '../helpers/chromium.js';
import { waitFor } from '../helpers/wait.js';

const missing = chromiumMissing('test/browser/chromium.test.ts');

const BUNDLE = new URL('../../ringbus.browser.js', import.meta.url);

/** The page: imports the build, subscribes, connects, and exposes what it saw. */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>ringbus browser test</title>
<h1>ringbus in a page</h1>
<p>state: <span id="state">loading</span>, messages: <span id="count">0</span></p>
<pre id="log"></pre>
<script type="module">
  import { Bus } from '/ringbus.browser.js';
  const params = new URLSearchParams(location.search);
  const bus = new Bus({ id: 'page' });
  const view = (v) => (v instanceof Uint8Array ? { bytes: [...v] } : v);
  window.got = [];
  window.ups = 0;
  bus.on('link-up', () => { window.ups++; document.getElementById('state').textContent = 'up'; });
  bus.on('link-down', () => { document.getElementById('state').textContent = 'down'; });
  bus.subscribe('sim.>', (msg) => {
    window.got.push([msg.topic, view(msg.payload), msg.attempt]);
    document.getElementById('count').textContent = String(window.got.length);
    document.getElementById('log').textContent += msg.topic + '\\n';
  });
  bus.subscribe('jobs.*', () => undefined, { qos: 1, channel: 'workers' });
  window.link = await bus.connect(params.get('hub'), { reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
  window.ready = true;
</script>`;

interface PageWindow {
  got: unknown[];
  ups: number;
  ready?: boolean;
  link: { state: string; publish(topic: string, payload: unknown, o: object): Promise<unknown> };
}

describe('the browser build in chromium', { skip: missing }, () => {
  let browser: Browser;
  let site: Server;
  let siteUrl = '';

  before(async () => {
    site = createServer((req, res) => {
      if (req.url === '/ringbus.browser.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(readFileSync(BUNDLE));
      } else {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(PAGE);
      }
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => site?.close(() => resolve()));
  });

  async function openPage(hubUrl: string): Promise<Page> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${siteUrl}?hub=${encodeURIComponent(hubUrl)}`);
    await page.waitForFunction(() => (window as unknown as PageWindow).ready === true, null, {
      timeout: 10_000
    });
    assert.deepEqual(errors, [], 'no errors in the page');
    return page;
  }

  it('receives every payload kind on a wildcard, acks QoS 1, publishes back, survives a server restart', async (t) => {
    const hub = new Bus({ id: 'hub' });
    t.after(() => hub.close());
    let listener = await hub.listen('ws://127.0.0.1:0/bus');
    const page = await openPage(listener.url);
    t.after(() => page.close());

    hub.publish('sim.bytes', Uint8Array.of(1, 2, 3));
    hub.publish('sim.text', 'héllo');
    hub.publish('sim.json', { x: 1, list: [true, null] });
    hub.publish('sim.none', undefined);
    for (let i = 0; i < 5; i++) hub.publish('jobs.build', `job ${i}`, { qos: 1 });
    await page.waitForFunction(() => (window as unknown as PageWindow).got.length === 4);
    assert.deepEqual(await page.evaluate(() => (window as unknown as PageWindow).got), [
      ['sim.bytes', { bytes: [1, 2, 3] }, 1],
      ['sim.text', 'héllo', 1],
      ['sim.json', { x: 1, list: [true, null] }, 1],
      ['sim.none', undefined, 1]
    ]);
    assert.equal(await page.textContent('#count'), '4');
    await waitFor(
      () => hub.stats().channels.some((c) => c.channel === 'workers' && c.acked === 5),
      5000,
      'the hub saw five acks from the page'
    );

    const commands: unknown[] = [];
    hub.subscribe('cmd.>', (msg) => void commands.push(msg.payload));
    await page.evaluate(() =>
      (window as unknown as PageWindow).link.publish('cmd.spawn', { kind: 'tank' }, { qos: 1 })
    );
    assert.deepEqual(commands, [{ kind: 'tank' }]);

    // The server goes away and comes back on the same port: the page reconnects by itself.
    const url = listener.url;
    const ups = await page.evaluate(() => (window as unknown as PageWindow).ups);
    await listener.close();
    await page.waitForFunction(() => (window as unknown as PageWindow).link.state !== 'up');
    listener = await hub.listen(url);
    await page.waitForFunction((before) => (window as unknown as PageWindow).ups > before, ups, {
      timeout: 10_000
    });
    hub.publish('sim.after', 'restart');
    await page.waitForFunction(() => (window as unknown as PageWindow).got.length === 5);
    assert.equal(await page.textContent('#state'), 'up');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL('browser-page.png', ARTIFACTS).pathname });
  });
});
