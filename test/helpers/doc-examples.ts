/**
 * Runnable documentation examples (STYLE.md 2.8), the mechanism of test/docs/guide-examples.test.ts
 * shared with other pages: a ```ts block followed (after blank lines only) by a ```text block is
 * an example; the code is transpiled, run with node against the compiled library, and its stdout
 * must equal the text block exactly. A ```ts block without a ```text block after it is not run.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';

const run = promisify(execFile);

/** Compiled to build/test/helpers/: three levels up is the repo root, two is build/. */
export const REPO_ROOT = new URL('../../../', import.meta.url);
const LIBRARY = new URL('../../adapters/node.js', import.meta.url);

export interface DocExample {
  /** The nearest heading above the block, numbered when a heading has several examples. */
  name: string;
  /** 1-based line of the ```ts fence. */
  line: number;
  code: string;
  expected: string;
}

/** Finds every ```ts block that is followed (after blank lines only) by a ```text block. */
export function extractExamples(markdown: string): DocExample[] {
  const lines = markdown.split('\n');
  const examples: DocExample[] = [];
  const perHeading = new Map<string, number>();
  let heading = '(no heading)';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    if (h) {
      heading = h[1].trim();
      continue;
    }
    if (/^```/.test(line) && line.trim() !== '```ts') {
      i = closingFence(lines, i); // skip other code blocks whole: a '#' inside is no heading
      continue;
    }
    if (line.trim() !== '```ts') continue;
    const start = i;
    const end = closingFence(lines, i);
    const code = lines.slice(start + 1, end).join('\n');
    let j = end + 1;
    while (j < lines.length && lines[j].trim() === '') j++;
    if (lines[j]?.trim() !== '```text') {
      i = end;
      continue;
    }
    const textEnd = closingFence(lines, j);
    const expected = lines.slice(j + 1, textEnd).join('\n');
    const n = (perHeading.get(heading) ?? 0) + 1;
    perHeading.set(heading, n);
    examples.push({
      name: n === 1 ? heading : `${heading} (${n})`,
      line: start + 1,
      code,
      expected
    });
    i = textEnd;
  }
  return examples;
}

function closingFence(lines: string[], open: number): number {
  for (let i = open + 1; i < lines.length; i++) if (/^```\s*$/.test(lines[i])) return i;
  throw new Error(`unclosed code block at line ${open + 1}`);
}

/** TypeScript -> an ES module that imports the compiled library instead of 'ringbus'. */
export function toModule(code: string): string {
  const js = ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }
  }).outputText;
  return js.replace(/((?:from|import)\s*\(?\s*)(['"])ringbus\2/g, `$1'${LIBRARY.href}'`);
}

/**
 * Writes `example` as a module into `workDir`, runs it in a fresh node process (killed after
 * `timeoutMs`) and asserts that it exits cleanly and prints exactly the expected text.
 */
export async function runExample(
  doc: string,
  example: DocExample,
  workDir: string,
  timeoutMs = 10_000
): Promise<void> {
  const file = join(workDir, `${doc.replace(/\W/g, '_')}_${example.line}.mjs`);
  writeFileSync(file, toModule(example.code));
  let stdout: string;
  let stderr: string;
  try {
    ({ stdout, stderr } = await run(process.execPath, [file], {
      cwd: fileURLToPath(REPO_ROOT),
      timeout: timeoutMs,
      env: { ...process.env, NODE_OPTIONS: '' }
    }));
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    assert.fail(
      `${doc}:${example.line} failed: ${e.message}\nstdout:\n${e.stdout ?? ''}\nstderr:\n${e.stderr ?? ''}`
    );
  }
  assert.equal(
    stdout,
    `${example.expected}\n`,
    `${doc}:${example.line} printed something else (stderr: ${stderr})`
  );
}
