/**
 * The frame-body test vectors of docs/protocol.md §7 and its constant tables (§2, §4.1, §4.3):
 * every row is encoded with the real encoder and compared with the listed bytes, and the bytes are
 * decoded back and compared with the listed fields, so the spec and the code cannot drift.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { RingbusError } from '../../../src/errors.js';
import { BodyReader } from '../../../src/frames/body-reader.js';
import {
  creditSchema,
  errorSchema,
  helloSchema,
  interestSchema,
  readControl,
  subSchema,
  unsubSchema,
  writeControl
} from '../../../src/frames/control.js';
import {
  type EnvelopeFields,
  InboundFrame,
  type PayloadCodec,
  readMsg,
  readPub,
  writeMsg,
  writePub
} from '../../../src/frames/envelope.js';
import { FrameDecoder, RangeFrameDecoder } from '../../../src/frames/frame-decoder.js';
import { FrameEncoder } from '../../../src/frames/frame-encoder.js';
import { FrameType, MsgFlag, PayloadKind } from '../../../src/frames/frame-type.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../../../src/limits.js';
import { NO_HEADERS } from '../../../src/message.js';

/** Compiled to build/test/unit/frames/: the repo root is four levels up. */
const PROTOCOL_DOC = new URL('../../../../docs/protocol.md', import.meta.url);

const utf8 = new TextEncoder();

// --- the document's tables ---------------------------------------------------------------------

/** The rows of every table whose header cells start with `header` (code spans unwrapped). */
function tableRows(header: readonly string[]): string[][] {
  const rows: string[][] = [];
  let inTable = false;
  for (const line of readFileSync(PROTOCOL_DOC, 'utf8').split('\n')) {
    if (!line.startsWith('|')) {
      inTable = false;
      continue;
    }
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim().replace(/^`|`$/g, ''));
    if (header.every((h, i) => cells[i] === h)) {
      inTable = true;
      continue;
    }
    if (inTable && !/^-+$/.test(cells[0])) rows.push(cells);
  }
  return rows;
}

/** Parses `xx xx yy*n …` (docs/protocol.md §1.5, §7.1) into bytes. */
function parseHex(text: string): Uint8Array {
  const out: number[] = [];
  for (const token of text.trim().split(/\s+/)) {
    const match = /^([0-9a-f]{2})(?:\*(\d+))?$/.exec(token);
    assert.ok(match, `bad hex token ${JSON.stringify(token)}`);
    const count = match[2] === undefined ? 1 : Number(match[2]);
    for (let i = 0; i < count; i++) out.push(parseInt(match[1], 16));
  }
  return Uint8Array.from(out);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

// --- the "decodes to" notation of §7.1 ----------------------------------------------------------

/** What a `codec:` payload decodes to: the §7.1 vectors use a codec that passes bytes through. */
class CodecValue {
  constructor(readonly bytes: Uint8Array) {}
}

const passThrough: PayloadCodec = {
  encode: (value) => (value as CodecValue).bytes,
  decode: (bytes) => new CodecValue(bytes.slice())
};

type Fields = Record<string, unknown>;

/** A frame as §7.1 writes it: its type name and its fields (a control frame: `body`). */
interface Described {
  readonly type: string;
  readonly fields: Fields;
}

const CONTROL_SCHEMAS = {
  HELLO: helloSchema,
  ERROR: errorSchema,
  SUB: subSchema,
  UNSUB: unsubSchema,
  CREDIT: creditSchema,
  INTEREST: interestSchema,
  UNINTEREST: interestSchema
} as const;

/** Splits at spaces outside JSON strings, objects and arrays. */
function splitFields(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      current += c;
      if (c === '\\') current += text[++i];
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    if (c === ' ' && depth === 0) {
      if (current !== '') out.push(current);
      current = '';
    } else current += c;
  }
  if (current !== '') out.push(current);
  return out;
}

/** `0102ab` or `61*300`. */
function hexValue(text: string): Uint8Array {
  const repeated = /^([0-9a-f]{2})\*(\d+)$/.exec(text);
  if (repeated) return new Uint8Array(Number(repeated[2])).fill(parseInt(repeated[1], 16));
  assert.match(text, /^(?:[0-9a-f]{2})*$/, `bad bytes ${text}`);
  return Uint8Array.from(text.match(/../g) ?? [], (b) => parseInt(b, 16));
}

function payloadValue(text: string): unknown {
  if (text === 'undefined') return undefined;
  const colon = text.indexOf(':');
  const value = text.slice(colon + 1);
  switch (text.slice(0, colon)) {
    case 'string':
      return JSON.parse(value) as string;
    case 'json':
      return JSON.parse(value) as unknown;
    case 'bytes':
      return hexValue(value);
    case 'codec':
      return new CodecValue(hexValue(value));
    default:
      return assert.fail(`bad payload ${text}`);
  }
}

function parseDescription(text: string): Described {
  const [type, ...rest] = splitFields(text);
  if (type in CONTROL_SCHEMAS) return { type, fields: { body: JSON.parse(rest.join(' ')) } };
  const fields: Fields = {};
  for (const field of rest) {
    const eq = field.indexOf('=');
    assert.ok(eq > 0, `bad field ${field}`);
    const name = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (name === 'flags') fields.flags = value;
    else if (name === 'tags') fields.tags = value.split(',').map(Number);
    else if (name === 'topic' || name === 'replyTo' || name === 'headers')
      fields[name] = JSON.parse(value);
    else if (name === 'payload') fields.payload = payloadValue(value);
    else if (name === 'body') {
      const body = payloadValue(value);
      fields.body = typeof body === 'string' ? utf8.encode(body) : body; // raw mode sends UTF-8
    } else {
      assert.match(value, /^\d+$/, `${name} must be a decimal integer`);
      fields[name] = Number(value);
    }
  }
  return { type, fields };
}

const FLAG_NAMES = ['QOS1', 'HEADERS', 'REPLY', 'TTL', 'RETAIN'] as const;

function flagsText(flags: number): string {
  const names = FLAG_NAMES.filter((n) => (flags & MsgFlag[n]) !== 0);
  return names.length === 0 ? '-' : names.join('+');
}

// --- encoding and decoding with the real code ------------------------------------------------

/** Encodes a described frame as ringbus does (the session writes the small frames inline). */
function encode(d: Described): Uint8Array {
  const enc = new FrameEncoder();
  const f = d.fields;
  const envelope: EnvelopeFields = {
    topic: f.topic as string,
    payload: f.payload,
    headers: (f.headers as Record<string, string> | undefined) ?? NO_HEADERS,
    replyTo: f.replyTo as string | undefined
  };
  const codec = f.payload instanceof CodecValue ? passThrough : undefined;
  const ttlMs = (f.ttlMs as number | undefined) ?? 0;
  const small = (type: number, ...values: number[]): void => {
    enc.begin(1 + values.length * 8);
    enc.u8(type);
    for (const v of values) enc.uint(v);
    enc.end();
  };
  switch (d.type) {
    case 'RAW':
      enc.frame(f.body as Uint8Array);
      break;
    case 'GOODBYE':
      small(FrameType.GOODBYE);
      break;
    case 'PING':
    case 'PONG':
      small(FrameType[d.type], f.id as number);
      break;
    case 'ACK': {
      const tags = f.tags as number[];
      small(FrameType.ACK, tags.length, ...tags);
      break;
    }
    case 'NACK':
      small(FrameType.NACK, f.tag as number, f.delayMs as number);
      break;
    case 'PUBACK':
      small(FrameType.PUBACK, f.pubId as number, f.entered as number);
      break;
    case 'MSG':
      writeMsg(
        enc,
        envelope,
        f.sid as number,
        (f.tag as number | undefined) ?? 0,
        f.id as number,
        f.attempt as number,
        f.hops as number,
        ttlMs,
        codec
      );
      break;
    case 'PUB': {
      const flags = (f.flags as string).split('+');
      const qos = flags.includes('QOS1') ? 1 : 0;
      writePub(enc, envelope, f.pubId as number, qos, flags.includes('RETAIN'), ttlMs, codec);
      break;
    }
    default:
      writeControl(enc, FrameType[d.type as keyof typeof CONTROL_SCHEMAS], f.body as object);
  }
  return enc.take();
}

const TYPE_NAMES = new Map<number, keyof typeof FrameType>(
  (Object.keys(FrameType) as (keyof typeof FrameType)[]).map((k) => [FrameType[k], k])
);

/**
 * Decodes one body as a session does; a MSG or PUB lists exactly the optional fields its flags
 * announce, as §7.1 does. Throws what the readers throw.
 */
function decodeBody(r: BodyReader, codec: PayloadCodec | undefined): Described {
  const type = TYPE_NAMES.get(r.u8());
  assert.ok(type !== undefined, 'unknown frame type');
  const fields: Fields = {};
  switch (type) {
    case 'GOODBYE':
      r.done(type);
      break;
    case 'PING':
    case 'PONG':
      fields.id = r.uint();
      r.done(type);
      break;
    case 'ACK': {
      const tags: number[] = [];
      for (let n = r.uint(); n > 0; n--) tags.push(r.uint());
      fields.tags = tags;
      r.done(type);
      break;
    }
    case 'NACK':
      fields.tag = r.uint();
      fields.delayMs = r.uint();
      r.done(type);
      break;
    case 'PUBACK':
      fields.pubId = r.uint();
      fields.entered = r.uint();
      r.done(type);
      break;
    case 'MSG':
    case 'PUB': {
      const m = new InboundFrame();
      if (type === 'MSG') readMsg(r, m, codec);
      else readPub(r, m, codec);
      fields.flags = flagsText(m.flags);
      if (type === 'MSG') {
        fields.sid = m.sid;
        if ((m.flags & MsgFlag.QOS1) !== 0) fields.tag = m.tag;
        fields.id = m.id;
        fields.attempt = m.attempt;
        fields.hops = m.hops;
      } else fields.pubId = m.sid;
      if ((m.flags & MsgFlag.TTL) !== 0) fields.ttlMs = m.ttlMs;
      fields.topic = m.topic;
      if ((m.flags & MsgFlag.HEADERS) !== 0) fields.headers = m.headers;
      if ((m.flags & MsgFlag.REPLY) !== 0) fields.replyTo = m.replyTo;
      fields.payload = m.payload;
      break;
    }
    case 'HELLO':
    case 'ERROR':
    case 'SUB':
    case 'UNSUB':
    case 'CREDIT':
    case 'INTEREST':
    case 'UNINTEREST':
      fields.body = readControl(r, CONTROL_SCHEMAS[type], type);
  }
  return { type, fields };
}

/** Decodes a stream of typed frames as a link does: range decoder, one reused BodyReader. */
function decodeStream(chunks: readonly Uint8Array[], codec: PayloadCodec | undefined): Described[] {
  const out: Described[] = [];
  const reader = new BodyReader();
  const decoder = new RangeFrameDecoder(DEFAULT_MAX_FRAME_BYTES, (bytes, start, end) => {
    reader.reset(bytes, start, end);
    out.push(decodeBody(reader, codec));
  });
  for (const chunk of chunks) assert.equal(decoder.push(chunk), undefined);
  assert.equal(decoder.end(), undefined);
  return out;
}

/** Raw mode (§6): the bodies, nothing more. */
function decodeRaw(chunks: readonly Uint8Array[]): Described[] {
  const out: Described[] = [];
  const decoder = new FrameDecoder(DEFAULT_MAX_FRAME_BYTES, (body) =>
    out.push({ type: 'RAW', fields: { body: body.slice() } })
  );
  for (const chunk of chunks) assert.equal(decoder.push(chunk), undefined);
  assert.equal(decoder.end(), undefined);
  return out;
}

function byteByByte(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (_, i) => bytes.slice(i, i + 1));
}

// --- tests ----------------------------------------------------------------------------------------

interface FrameVector {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly text: string;
  readonly described: Described;
}

const frameVectors: FrameVector[] = tableRows(['frame', 'hex', 'decodes to']).map(
  ([name, hexText, text]) => ({
    name,
    bytes: parseHex(hexText),
    text,
    described: parseDescription(text)
  })
);

const errorVectors = tableRows(['case', 'hex', 'error']).map(([name, hexText, expect]) => {
  const match = /^(ERR_[A-Z_]+) "(.*)"$/.exec(expect);
  assert.ok(match, `bad error cell ${expect}`);
  return { name, bytes: parseHex(hexText), code: match[1], fragment: match[2] };
});

void describe('docs/protocol.md constant tables', () => {
  void it('§2 lists exactly the frame types of FrameType', () => {
    const rows = tableRows(['type', 'byte', 'body', 'purpose']);
    const documented = Object.fromEntries(rows.map(([name, byte]) => [name, parseInt(byte, 16)]));
    assert.deepEqual(documented, { ...FrameType });
  });

  void it('§4.1 lists exactly the flag bits of MsgFlag', () => {
    const rows = tableRows(['flag', 'bit', 'MSG', 'PUB']);
    const documented = Object.fromEntries(rows.map(([name, bit]) => [name, parseInt(bit, 16)]));
    assert.deepEqual(documented, { ...MsgFlag });
  });

  void it('§4.3 lists exactly the payload kinds of PayloadKind', () => {
    const rows = tableRows(['kind', 'byte', 'payload bytes', 'decodes to']);
    const documented = Object.fromEntries(rows.map(([name, byte]) => [name, parseInt(byte, 16)]));
    assert.deepEqual(documented, { ...PayloadKind });
  });
});

void describe('docs/protocol.md §7.1 frame vectors', () => {
  void it('has a row for every frame type, payload kind and optional MSG field', () => {
    assert.ok(frameVectors.length >= 20, `only ${frameVectors.length} rows parsed`);
    const types = new Set(frameVectors.map((v) => v.described.type));
    for (const type of [...Object.keys(FrameType), 'RAW']) assert.ok(types.has(type), type);
    const msgs = frameVectors.filter((v) => v.described.type === 'MSG').map((v) => v.text);
    for (const kind of ['string:', 'bytes:', 'json:', 'codec:', 'undefined']) {
      assert.ok(
        msgs.some((t) => t.includes(`payload=${kind}`)),
        `no MSG with a ${kind} payload`
      );
    }
    assert.ok(msgs.some((t) => t.includes('flags=QOS1+HEADERS+REPLY+TTL')));
    assert.ok(frameVectors.some((v) => /^PUB flags=QOS1\+RETAIN /.test(v.text)));
    assert.ok(frameVectors.some((v) => /^ACK tags=\d+,\d+,\d+$/.test(v.text)));
  });

  for (const v of frameVectors) {
    void it(`${v.name}: encodes to the listed bytes and decodes back`, () => {
      assert.equal(hex(encode(v.described)), hex(v.bytes));
      const decode = (chunks: Uint8Array[]): Described[] =>
        v.described.type === 'RAW' ? decodeRaw(chunks) : decodeStream(chunks, passThrough);
      assert.deepEqual(decode([v.bytes]), [v.described], 'whole');
      assert.deepEqual(decode(byteByByte(v.bytes)), [v.described], 'byte by byte');
    });
  }

  void it('decodes all rows as one stream, as a link receives them', () => {
    const typed = frameVectors.filter((v) => v.described.type !== 'RAW');
    const stream = new Uint8Array(typed.reduce((n, v) => n + v.bytes.length, 0));
    let at = 0;
    for (const v of typed) {
      stream.set(v.bytes, at);
      at += v.bytes.length;
    }
    assert.deepEqual(
      decodeStream([stream], passThrough),
      typed.map((v) => v.described)
    );
  });
});

void describe('docs/protocol.md §7.2 malformed bodies', () => {
  void it('has the table', () => {
    assert.ok(errorVectors.length >= 20, `only ${errorVectors.length} rows parsed`);
  });

  for (const v of errorVectors) {
    void it(`${v.name}: rejects with ${v.code}`, () => {
      const reader = new BodyReader();
      let error: unknown;
      const decoder = new RangeFrameDecoder(DEFAULT_MAX_FRAME_BYTES, (bytes, start, end) => {
        reader.reset(bytes, start, end);
        try {
          decodeBody(reader, undefined);
        } catch (err) {
          error = err;
        }
      });
      assert.equal(decoder.push(v.bytes), undefined, 'the framing itself is valid');
      assert.ok(error instanceof RingbusError, `expected a RingbusError, got ${String(error)}`);
      assert.equal(error.code, v.code);
      assert.ok(error.message.includes(v.fragment), error.message);
    });
  }
});

void describe('MSG and PUB bodies', () => {
  /** Writes with `write`, reads the one frame back with `read`. */
  function roundTrip(
    write: (enc: FrameEncoder) => void,
    read: (r: BodyReader, into: InboundFrame) => void
  ): InboundFrame {
    const enc = new FrameEncoder();
    write(enc);
    const into = new InboundFrame();
    const r = new BodyReader();
    const decoder = new FrameDecoder(DEFAULT_MAX_FRAME_BYTES, (body) => {
      r.reset(body);
      r.u8();
      read(r, into);
      r.done('the frame');
    });
    assert.equal(decoder.push(enc.take()), undefined);
    return into;
  }

  const envelope = (over: Partial<EnvelopeFields>): EnvelopeFields => ({
    topic: 'a.b',
    payload: undefined,
    headers: NO_HEADERS,
    replyTo: undefined,
    ...over
  });

  void it('keeps a header named __proto__ as an own header', () => {
    const headers = JSON.parse('{"__proto__":"x","a":"b"}') as Record<string, string>;
    const got = roundTrip(
      (enc) => writeMsg(enc, envelope({ headers }), 0, 0, 1, 1, 0, 0, undefined),
      (r, into) => readMsg(r, into, undefined)
    );
    assert.deepEqual(Object.keys(got.headers), ['__proto__', 'a']);
    assert.equal(Object.getOwnPropertyDescriptor(got.headers, '__proto__')?.value, 'x');
    assert.equal(Object.getPrototypeOf(got.headers), Object.prototype);
  });

  void it('keeps a leading U+FEFF in every string field and in string payloads', () => {
    const bom = '\uFEFF';
    const got = roundTrip(
      (enc) =>
        writeMsg(
          enc,
          envelope({
            topic: `${bom}t`,
            payload: `${bom}payload`,
            headers: { [`${bom}h`]: `${bom}v` },
            replyTo: `${bom}r`
          }),
          0,
          0,
          1,
          1,
          0,
          0,
          undefined
        ),
      (r, into) => readMsg(r, into, undefined)
    );
    assert.equal(got.topic, `${bom}t`);
    assert.equal(got.payload, `${bom}payload`);
    assert.deepEqual(got.headers, { [`${bom}h`]: `${bom}v` });
    assert.equal(got.replyTo, `${bom}r`);
  });

  void it('sends an empty headers object with the HEADERS flag and a count of 0', () => {
    const got = roundTrip(
      (enc) => writePub(enc, envelope({ headers: {} }), 0, 0, false, 0, undefined),
      (r, into) => readPub(r, into, undefined)
    );
    assert.equal(got.flags, MsgFlag.HEADERS);
    assert.deepEqual(got.headers, {});
    assert.notEqual(got.headers, NO_HEADERS);
  });

  void it('encodes a non-bytes, non-string payload with the codec when the link has one', () => {
    const codec: PayloadCodec = {
      encode: (v) => utf8.encode(`<${JSON.stringify(v)}>`),
      decode: (b) => new TextDecoder().decode(b)
    };
    const enc = new FrameEncoder();
    writeMsg(enc, envelope({ payload: { n: 1 } }), 0, 0, 1, 1, 0, 0, codec);
    const bytes = enc.take();
    // length, MSG, flags, sid, id, attempt, hops, topic "a.b" (4 bytes), then the kind.
    assert.equal(bytes[11], PayloadKind.CODEC);
    const got = roundTrip(
      (e) => writeMsg(e, envelope({ payload: { n: 1 } }), 0, 0, 1, 1, 0, 0, codec),
      (r, into) => readMsg(r, into, codec)
    );
    assert.equal(got.payload, '<{"n":1}>');
  });

  void it('refuses a payload JSON cannot carry with ERR_PAYLOAD and writes nothing', () => {
    const enc = new FrameEncoder();
    writeMsg(enc, envelope({ payload: 'kept' }), 0, 0, 1, 1, 0, 0, undefined);
    const before = enc.size;
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const payload of [() => 1, 10n, Symbol('s'), cyclic]) {
      assert.throws(
        () => writeMsg(enc, envelope({ payload }), 0, 0, 2, 1, 0, 0, undefined),
        (err: unknown) => err instanceof RingbusError && err.code === 'ERR_PAYLOAD'
      );
      assert.equal(enc.size, before, `${typeof payload}: the failed frame is rolled back`);
    }
    const got = roundTrip(
      (e) => e.bytes(enc.take()),
      (r, into) => readMsg(r, into, undefined)
    );
    assert.equal(got.payload, 'kept');
  });

  void it('writes nothing of a frame whose codec throws', () => {
    const failing: PayloadCodec = {
      encode: () => {
        throw new TypeError('cannot encode');
      },
      decode: (b) => b
    };
    const enc = new FrameEncoder();
    writeMsg(enc, envelope({ payload: 'kept' }), 0, 0, 1, 1, 0, 0, failing);
    const before = enc.size;
    assert.throws(() => writeMsg(enc, envelope({ payload: { n: 1 } }), 0, 0, 2, 1, 0, 0, failing));
    assert.equal(enc.size, before);
  });

  void it('throws RangeError for a MSG over maxFrameBytes and keeps earlier frames', () => {
    const enc = new FrameEncoder(4096);
    writeMsg(enc, envelope({ payload: 'small' }), 0, 0, 1, 1, 0, 0, undefined);
    const before = enc.take();
    enc.bytes(before);
    const big = new Uint8Array(4096);
    assert.throws(
      () => writeMsg(enc, envelope({ payload: big }), 0, 0, 2, 1, 0, 0, undefined),
      /exceeds maxFrameBytes 4096/
    );
    assert.equal(hex(enc.take()), hex(before));
  });

  void it('reads a PUB: pubId in sid, no tag, id or hops, attempt 1', () => {
    const got = roundTrip(
      (enc) => writePub(enc, envelope({ payload: 'x' }), 7, 1, true, 250, undefined),
      (r, into) => readPub(r, into, undefined)
    );
    assert.equal(got.flags, MsgFlag.QOS1 | MsgFlag.RETAIN | MsgFlag.TTL);
    assert.equal(got.qos, 1);
    assert.deepEqual(
      [got.sid, got.tag, got.id, got.attempt, got.hops, got.ttlMs],
      [7, 0, 0, 1, 0, 250]
    );
  });
});
