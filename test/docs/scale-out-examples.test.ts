/**
 * Runs the examples of docs/scale-out.md like network-examples.test.ts does, against a real
 * nats-server with JetStream (Debian's binary, installed by .ci/run) whose URL they read from
 * NATS_URL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, extractExamples, runExample } from '../helpers/doc-examples.js';
import { type NatsCluster, missingNatsServer, startNatsServer } from '../helpers/nats-cluster.js';

const DOC = 'docs/scale-out.md';
const MIN_EXAMPLES = 2;

const skip = missingNatsServer();
if (skip !== undefined) console.warn(`${DOC} examples: ${skip}`);

describe(DOC, { skip }, () => {
  const examples = extractExamples(readFileSync(new URL(DOC, REPO_ROOT), 'utf8'));
  const workDir = mkdtempSync(join(tmpdir(), 'ringbus-scale-out-docs-'));
  let server: NatsCluster | undefined;

  before(async () => {
    server = await startNatsServer({ jetstream: true });
    process.env.NATS_URL = server.urls[0]; // the examples' processes inherit it
  });
  after(async () => {
    delete process.env.NATS_URL;
    await server?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it(`has at least ${MIN_EXAMPLES} runnable examples`, () =>
    assert.ok(examples.length >= MIN_EXAMPLES, `found ${examples.length}`));
  for (const example of examples) {
    it(`${example.name} (line ${example.line})`, () => runExample(DOC, example, workDir));
  }
});
