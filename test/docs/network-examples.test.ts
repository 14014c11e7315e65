/**
 * Runs every example of the Node pages (docs/network.md, security.md, workers.md, durability.md): each ```ts block
 * followed by a ```text block runs in its own node process against the compiled library and must
 * print exactly that text. The examples listen on loopback port 0 or on Unix sockets in
 * os.tmpdir(), keep stores in os.tmpdir(), and close what they open: a process that kept a socket or timer alive would not
 * exit and fail on the timeout.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT, extractExamples, runExample } from '../helpers/doc-examples.js';

/** Each page, with the fewest examples it must keep (a broken fence would silently drop some). */
const PAGES: [doc: string, minExamples: number][] = [
  ['docs/network.md', 12],
  ['docs/security.md', 3],
  ['docs/workers.md', 1],
  ['docs/durability.md', 2]
];

const workDir = mkdtempSync(join(tmpdir(), 'ringbus-network-docs-'));
after(() => rmSync(workDir, { recursive: true, force: true }));

for (const [doc, minExamples] of PAGES) {
  const examples = extractExamples(readFileSync(new URL(doc, REPO_ROOT), 'utf8'));
  void describe(doc, () => {
    void it(`has at least ${minExamples} runnable examples`, () =>
      assert.ok(examples.length >= minExamples, `found ${examples.length}`));
    for (const example of examples) {
      void it(`${example.name} (line ${example.line})`, () => runExample(doc, example, workDir));
    }
  });
}
