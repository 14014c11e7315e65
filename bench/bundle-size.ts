/**
 * What each browser client weighs: ringbus's browser build next to socket.io-client, MQTT.js and
 * nats.ws, each bundled the same way (esbuild, ESM, browser platform, minified) from what an app
 * imports, then gzipped at level 9.
 */
import type { Metafile } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { firstLine } from './harness.js';
import { packageVersion } from './net/harness.js';
import type { Table, Target } from './report.js';

/** The repository root (this file runs from build/bench/). */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The ringbus browser build's budget, min + gzip. */
const BUDGET_BYTES = 12 * 1024;

const CLIENTS: [name: string, pkg: string | undefined, entry: string][] = [
  ['ringbus', undefined, "export * from './adapters/browser.ts';"],
  ['socket.io-client', 'socket.io-client', "export { io } from 'socket.io-client';"],
  ['mqtt', 'mqtt', "export { connect } from 'mqtt';"],
  ['nats.ws', 'nats.ws', "export { connect } from 'nats.ws';"]
];

export interface BundleSize {
  name: string;
  version: string;
  /** Undefined when it could not be bundled here (the reason is in `version`). */
  minified?: number;
  gzip?: number;
  /** Share (0..1) of the minified bundle that is zod's code (ringbus only: it validates with zod/mini). */
  zodShare?: number;
}

/** Minified bytes of `metafile`'s output that come from zod, over the whole output's `total`. */
function zodShareOf(metafile: Metafile, total: number): number {
  let zod = 0;
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      if (input.includes('node_modules/zod')) zod += bytesInOutput;
    }
  }
  return zod / total;
}

export async function bundleSizes(): Promise<BundleSize[]> {
  const esbuild = await import('esbuild');
  const out: BundleSize[] = [];
  for (const [name, pkg, entry] of CLIENTS) {
    const version = pkg === undefined ? 'this tree' : packageVersion(pkg);
    try {
      const result = await esbuild.build({
        stdin: { contents: entry, resolveDir: ROOT, loader: 'ts' },
        bundle: true,
        format: 'esm',
        platform: 'browser',
        target: 'es2022',
        minify: true,
        write: false,
        metafile: true,
        logLevel: 'silent',
        // nats.ws falls back to require('crypto') only where the Web Crypto API is missing.
        external: ['crypto']
      });
      const code = result.outputFiles[0].contents;
      out.push({
        name,
        version,
        minified: code.length,
        gzip: gzipSync(code, { level: 9 }).length,
        ...(pkg === undefined ? { zodShare: zodShareOf(result.metafile, code.length) } : {})
      });
    } catch (err) {
      out.push({ name, version: `not bundled: ${firstLine(err)}` });
    }
  }
  return out;
}

const kb = (bytes: number | undefined): string =>
  bytes === undefined ? '' : `${(bytes / 1024).toFixed(1)} KB`;

export function bundleTable(sizes: readonly BundleSize[]): Table {
  return {
    title: 'Browser clients, minified and gzipped',
    head: ['client', 'version', 'minified', 'min + gzip'],
    rows: sizes.map((s) => [s.name, s.version, kb(s.minified), kb(s.gzip)])
  };
}

export function bundleTarget(sizes: readonly BundleSize[]): Target {
  const own = sizes.find((s) => s.name === 'ringbus')?.gzip;
  const goal = `≤ ${kb(BUDGET_BYTES)} min + gzip`;
  const name = 'browser build size';
  if (own === undefined) return { name, goal, measured: 'not measured (the build failed)' };
  return { name, goal, measured: kb(own), met: own <= BUDGET_BYTES };
}
