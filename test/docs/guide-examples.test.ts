/**
 * Runs every example of the core pages (docs/guide.md, docs/semantics.md): each ```ts block
 * followed by a ```text block is transpiled, run with node against the compiled library, and its
 * stdout must equal the text block exactly (test/helpers/doc-examples.ts).
 * STYLE.md 2.8: each capability page has a runnable example, tested by a script.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT, extractExamples, runExample } from '../helpers/doc-examples.js';

const DOCS = ['docs/guide.md', 'docs/semantics.md'];

const workDir = mkdtempSync(join(tmpdir(), 'ringbus-docs-'));
after(() => rmSync(workDir, { recursive: true, force: true }));

for (const doc of DOCS) {
  let markdown: string;
  try {
    markdown = readFileSync(new URL(doc, REPO_ROOT), 'utf8');
  } catch {
    continue; // a page without examples may not exist yet
  }
  const examples = extractExamples(markdown);
  void describe(doc, () => {
    if (doc === 'docs/guide.md') {
      void it('has runnable examples', () =>
        assert.ok(examples.length >= 10, `found ${examples.length}`));
    }
    for (const example of examples) {
      void it(`${example.name} (line ${example.line})`, () => runExample(doc, example, workDir));
    }
  });
}
