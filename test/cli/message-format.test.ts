import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodePayload, payloadText } from '../../cli/message-format.js';

describe('sub output: payload encodings', () => {
  const cases: [name: string, payload: unknown, json: unknown, encoding: string, text: string][] = [
    ['a string as published', 'héllo', 'héllo', 'json', 'héllo'],
    ['a JSON value', { n: 1, a: [null] }, { n: 1, a: [null] }, 'json', '{"n":1,"a":[null]}'],
    ['a number', 0, 0, 'json', '0'],
    ['null', null, null, 'json', 'null'],
    ['no payload', undefined, null, 'none', ''],
    ['UTF-8 bytes as text', new TextEncoder().encode('héllo\n'), 'héllo\n', 'utf8', 'héllo\n'],
    ['empty bytes', new Uint8Array(0), '', 'utf8', ''],
    ['invalid UTF-8 in base64', new Uint8Array([0xff, 0xfe, 0x00]), '//4A', 'base64', '//4A'],
    // A lone surrogate encoded as UTF-8 (ED A0 80) is not valid UTF-8: not silently replaced.
    [
      'an encoded surrogate in base64',
      new Uint8Array([0xed, 0xa0, 0x80]),
      '7aCA',
      'base64',
      '7aCA'
    ],
    [
      'a view into a larger buffer',
      new Uint8Array([0x78, 0x61, 0x62]).subarray(1),
      'ab',
      'utf8',
      'ab'
    ]
  ];
  for (const [name, payload, json, encoding, text] of cases) {
    it(name, () => {
      assert.deepEqual(encodePayload(payload), { payload: json, encoding });
      assert.equal(payloadText(payload), text);
    });
  }
});
