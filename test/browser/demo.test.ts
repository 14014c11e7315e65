/**
 * The `npm start` pages in chromium: the dashboard renders live numbers that arrive over the bus,
 * and the fan-out page draws the simulation and sends it QoS 1 commands. Screenshots go to
 * build/artifacts/. Skips, saying so, without chromium (CI installs it).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { type Demo, startDemo } from '../../demo/hub/demo.js';
import { demoOptions } from '../helpers/demo.js';
import { ARTIFACTS, chromiumMissing, launchChromium } from '../helpers/chromium.js';
import { waitFor } from '../helpers/wait.js';

const missing = chromiumMissing('test/browser/demo.test.ts');

const numberIn = (text: string | null): number => Number((text ?? '').replace(/,/gu, ''));

describe('the npm start pages in chromium', { skip: missing }, () => {
  let browser: Browser;
  let demo: Demo;

  before(async () => {
    demo = await startDemo(demoOptions({ entities: 100 }));
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  it('the dashboard shows live rates, links and channels that arrive over the bus', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(demo.urls.dashboard);
    // 100 entities at 60 Hz: about 6000 publishes a second once two snapshots are in.
    await page.waitForFunction(
      () =>
        Number(document.getElementById('published-rate')?.textContent?.replace(/,/gu, '')) > 1000,
      null,
      { timeout: 10_000 }
    );
    assert.equal(await page.textContent('#state'), 'up');
    assert.ok(numberIn(await page.textContent('#link-count')) >= 1, 'its own link is counted');
    const peers = await page.$$eval('#links tbody tr td:nth-child(4)', (tds) =>
      tds.map((td) => td.textContent)
    );
    assert.ok(
      peers.some((p) => p?.startsWith('dashboard-')),
      `links: ${peers.join(', ')}`
    );
    const channels = await page.$$eval('#channels tbody tr td:nth-child(2)', (tds) =>
      tds.map((td) => td.textContent)
    );
    assert.ok(channels.includes('workers'), `channels: ${channels.join(', ')}`);
    // The job workers' subscriptions, with their live numbers (delivered/s, pending, in flight, dropped).
    const subscriptions = await page.$$eval('#subscriptions tbody tr', (trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? ''))
    );
    const workers = subscriptions.filter((cells) => cells[1] === 'workers');
    assert.ok(workers.length >= 1, `subscriptions: ${JSON.stringify(subscriptions)}`);
    for (const cells of workers)
      assert.ok(
        cells.slice(4).every((c) => /^[\d,]+$/u.test(c)),
        `numbers in ${cells.join(' | ')}`
      );

    // Pausing the job channel from the dashboard shows up in the next snapshot.
    await page.click('#channels tbody tr:has(td:text-is("workers")) button[data-action="pause"]');
    await page.waitForSelector(
      '#channels tbody tr:has(td:text-is("workers")) td:text-is("paused")'
    );
    await page.click('#channels tbody tr:has(td:text-is("workers")) button[data-action="resume"]');
    await page.screenshot({ path: new URL('dashboard.png', ARTIFACTS).pathname, fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('the fan-out page draws every entity, measures its rate and sends QoS 1 commands', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(demo.urls.fanout);
    await page.waitForFunction(() => document.getElementById('entities')?.textContent === '100');
    await page.waitForFunction(
      () => Number(document.getElementById('rate')?.textContent?.replace(/,/gu, '')) > 0,
      null,
      { timeout: 5000 }
    );
    const before = demo.simulation.entities;
    await page.click('#spawn');
    await page.waitForFunction(() => document.getElementById('accepted')?.textContent === '1');
    await waitFor(() => demo.simulation.entities === before + 50, 2000, 'fifty more entities');
    await page.waitForFunction(() => document.getElementById('entities')?.textContent === '150');
    await page.screenshot({ path: new URL('fanout.png', ARTIFACTS).pathname });
    assert.deepEqual(errors, []);
    await page.close();
  });
});
