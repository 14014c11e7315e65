/**
 * docs/errors.md and `ErrorCode` must list the same codes (STYLE.md 2.3): every code has a row,
 * and the page lists no code that does not exist.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/errors.js';

/** Compiled to build/test/unit/: the repo root is three levels up. */
const ERRORS_DOC = new URL('../../../docs/errors.md', import.meta.url);

/** The codes in the first column of the markdown table(s), in order. */
function documentedCodes(markdown: string): string[] {
  const codes: string[] = [];
  for (const line of markdown.split('\n')) {
    if (!line.trimStart().startsWith('|')) continue;
    const first = line.split('|')[1]?.trim() ?? '';
    if (first === '' || /^:?-+:?$/.test(first) || first.toLowerCase() === 'code') continue;
    codes.push(first.replace(/^`|`$/g, ''));
  }
  return codes;
}

void describe('docs/errors.md', () => {
  const documented = documentedCodes(readFileSync(ERRORS_DOC, 'utf8'));
  const defined = Object.values(ErrorCode);

  void it('has a row for every code in ErrorCode', () => {
    const missing = defined.filter((code) => !documented.includes(code));
    assert.deepEqual(missing, [], `add a row to docs/errors.md for: ${missing.join(', ')}`);
  });

  void it('lists no code that ErrorCode does not define', () => {
    const unknown = documented.filter((code) => !(defined as string[]).includes(code));
    assert.deepEqual(
      unknown,
      [],
      `docs/errors.md lists codes not in src/errors.ts: ${unknown.join(', ')}`
    );
  });

  void it('lists each code once', () => {
    const twice = documented.filter((code, i) => documented.indexOf(code) !== i);
    assert.deepEqual(twice, []);
  });
});
