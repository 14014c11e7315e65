import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { Bus } from '../../src/bus.js';
import { type BusStats, type QueueStats, renderMetrics } from '../../src/metrics.js';

/** One sample line of the text exposition format. */
interface Sample {
  readonly name: string;
  /** Label values, unescaped. */
  readonly labels: Record<string, string>;
  /** The raw `{...}` part, for duplicate detection. */
  readonly rawLabels: string;
  readonly value: number;
}

interface Family {
  readonly name: string;
  help: string | undefined;
  type: string | undefined;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/u;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/u;

/** Reads `{k="v",...}` honouring the escapes \\ \" \n; throws on anything malformed. */
function parseLabels(raw: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < raw.length) {
    const eq = raw.indexOf('=', i);
    assert.ok(eq > i, `label name expected in: ${line}`);
    const key = raw.slice(i, eq);
    assert.match(key, LABEL_NAME, `label name in: ${line}`);
    assert.equal(raw[eq + 1], '"', `quoted label value in: ${line}`);
    let value = '';
    let j = eq + 2;
    for (;;) {
      assert.ok(j < raw.length, `unterminated label value in: ${line}`);
      const ch = raw[j];
      if (ch === '"') break;
      if (ch === '\\') {
        const esc = raw[j + 1];
        if (esc === '\\') value += '\\';
        else if (esc === '"') value += '"';
        else if (esc === 'n') value += '\n';
        else assert.fail(`invalid escape \\${esc} in: ${line}`);
        j += 2;
      } else {
        assert.notEqual(ch, '\n', `raw newline in a label value: ${line}`);
        value += ch;
        j++;
      }
    }
    assert.ok(!(key in labels), `duplicate label ${key} in: ${line}`);
    labels[key] = value;
    i = j + 1;
    if (raw[i] === ',') i++;
    else assert.equal(i, raw.length, `',' or '}' expected after a label in: ${line}`);
  }
  return labels;
}

/** A strict parser of what ringbus emits: HELP and TYPE before the samples of each family. */
function parseExposition(text: string): Family[] {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  const families: Family[] = [];
  let current: Family | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# HELP ')) {
      const [name, ...rest] = line.slice(7).split(' ');
      assert.ok(!families.some((f) => f.name === name), `family ${name} appears once`);
      current = { name, help: rest.join(' '), type: undefined, samples: [] };
      families.push(current);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      assert.ok(
        current !== undefined && current.name === name,
        `# TYPE ${name} follows its # HELP`
      );
      assert.equal(current.samples.length, 0, `# TYPE ${name} precedes its samples`);
      current.type = type;
      continue;
    }
    assert.ok(!line.startsWith('#'), `no other comments: ${line}`);
    const m = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/u.exec(line);
    assert.ok(m !== null, `sample line: ${JSON.stringify(line)}`);
    const [, name, rawLabels = '', value] = m;
    assert.ok(
      current !== undefined && current.name === name,
      `sample ${name} belongs to the family declared above it`
    );
    assert.ok(current.type !== undefined, `sample ${name} after its # TYPE`);
    current.samples.push({
      name,
      labels: parseLabels(rawLabels, line),
      rawLabels,
      value: Number(value)
    });
  }
  return families;
}

const QUOTED_PATTERN = 'q"a.b\\c'; // tokens may hold '"' and '\'
const QUOTED_CHANNEL = 'ch"a\\n'; // a backslash followed by 'n', not a newline

/** A bus with something in every family: fan-out, channels, QoS 1 in flight, drops, conflation, retained, errors. */
async function busyBus(): Promise<Bus> {
  const bus = new Bus({ id: 'metrics-test', dispatch: 'manual' });
  bus.on('error', () => {});
  bus.subscribe(QUOTED_PATTERN, () => {});
  bus.subscribe(QUOTED_PATTERN, () => {}); // two private queues on one pattern: distinct series
  bus.subscribe('x.*', () => {}, { channel: QUOTED_CHANNEL });
  bus.subscribe('x.*', () => {}, { channel: QUOTED_CHANNEL });
  const pull = bus.subscribe('x.*', { channel: 'work', qos: 1 });
  bus.subscribe('x.>', () => {}, { queueSize: 2 }); // overflows
  bus.subscribe('c.*', () => {}, { conflate: true });
  bus.subscribe('e.rr', () => {
    throw new Error('boom');
  });
  bus.subscribe('svc.echo', (m) => void m.respond(m.payload));
  for (let i = 0; i < 5; i++) bus.publish(QUOTED_PATTERN, i);
  for (let i = 0; i < 6; i++) bus.publish('x.y', i, { qos: 1 });
  for (let i = 0; i < 4; i++) bus.publish('c.a', i);
  bus.publish('e.rr', 1);
  bus.publish('r.kept', 'v', { retain: true });
  const reply = bus.request('svc.echo', 'ping', { timeoutMs: 5000 });
  bus.flush();
  bus.flush(); // the reply
  await reply;
  const batch = await pull.pull(3);
  assert.equal(batch.length, 3);
  batch[0].ack();
  batch[1].nack();
  bus.channel('x.*', QUOTED_CHANNEL).empty();
  return bus;
}

function sampleOf(families: Family[], name: string, labels: Record<string, string> = {}): number {
  const f = families.find((x) => x.name === name);
  assert.ok(f !== undefined, `family ${name} present`);
  const s = f.samples.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  assert.ok(s !== undefined, `${name}${JSON.stringify(labels)} present`);
  return s.value;
}

describe('bus.metrics()', () => {
  it('gives every family # HELP and # TYPE, ringbus_ names, _total counters and no duplicate series', async () => {
    const bus = await busyBus();
    const families = parseExposition(bus.metrics());
    assert.ok(families.length >= 7);
    const series = new Set<string>();
    for (const f of families) {
      assert.match(f.name, METRIC_NAME);
      assert.ok(f.name.startsWith('ringbus_'), `${f.name} starts with ringbus_`);
      assert.ok(f.help !== undefined && f.help.trim().length > 0, `${f.name} has help text`);
      assert.ok(
        f.type === 'counter' || f.type === 'gauge',
        `${f.name} has type counter or gauge, got ${String(f.type)}`
      );
      if (f.type === 'counter')
        assert.ok(f.name.endsWith('_total'), `counter ${f.name} ends in _total`);
      else assert.ok(!f.name.endsWith('_total'), `gauge ${f.name} does not end in _total`);
      assert.ok(f.samples.length > 0, `${f.name} has samples`);
      for (const s of f.samples) {
        assert.ok(
          Number.isFinite(s.value) && s.value >= 0,
          `${s.name}{${s.rawLabels}} has a finite value`
        );
        const key = `${s.name}{${s.rawLabels}}`;
        assert.ok(!series.has(key), `duplicate series ${key}`);
        series.add(key);
      }
    }
    await bus.close();
  });

  it('exposes at least the families DESIGN names, with values that match the traffic', async () => {
    const bus = await busyBus();
    const families = parseExposition(bus.metrics());
    const stats = bus.stats();
    assert.equal(sampleOf(families, 'ringbus_messages_published_total'), stats.totals.published);
    assert.equal(sampleOf(families, 'ringbus_messages_delivered_total'), stats.totals.delivered);
    // 'x.>' with queueSize 2 received 6 messages: 4 overflowed.
    assert.equal(sampleOf(families, 'ringbus_messages_dropped_total', { reason: 'overflow' }), 4);
    // Emptying the quoted channel dropped what its consumers had not taken: nothing was flushed
    // after the publishes were delivered, so the count is the channel's depth before empty().
    assert.equal(
      sampleOf(families, 'ringbus_messages_dropped_total', { reason: 'emptied' }),
      stats.totals.dropped.emptied
    );
    assert.ok(
      families
        .find((f) => f.name === 'ringbus_messages_dropped_total')!
        .samples.every((s) => 'reason' in s.labels)
    );
    assert.equal(sampleOf(families, 'ringbus_messages_redelivered_total'), 1, 'one nack');
    assert.equal(sampleOf(families, 'ringbus_messages_dead_lettered_total'), 0);
    assert.equal(
      sampleOf(families, 'ringbus_messages_in_flight', { pattern: 'x.*', channel: 'work' }),
      1,
      'pulled 3, acked 1, nacked 1'
    );
    assert.equal(
      sampleOf(families, 'ringbus_queue_depth', { pattern: 'x.*', channel: 'work' }),
      4,
      '6 - 3 pulled + 1 nacked'
    );
    assert.equal(sampleOf(families, 'ringbus_messages_conflated_total'), 3);
    assert.equal(sampleOf(families, 'ringbus_handler_errors_total'), 1);
    assert.equal(sampleOf(families, 'ringbus_retained_messages'), 1);
    await bus.close();
  });

  it('escapes quotes and backslashes in label values so they read back unchanged', async () => {
    const bus = await busyBus();
    const text = bus.metrics();
    assert.ok(text.includes('pattern="q\\"a.b\\\\c"'), 'pattern label escaped');
    assert.ok(
      text.includes('channel="ch\\"a\\\\n"'),
      'channel label escaped (backslash-n stays two characters)'
    );
    assert.ok(text.includes('topic="q\\"a.b\\\\c"'), 'topic label escaped');
    const families = parseExposition(text);
    const depth = families.find((f) => f.name === 'ringbus_queue_depth')!;
    const quoted = depth.samples.filter((s) => s.labels.pattern === QUOTED_PATTERN);
    assert.equal(quoted.length, 2, 'both private queues on the quoted pattern');
    assert.notEqual(
      quoted[0].labels.subscription,
      quoted[1].labels.subscription,
      'told apart by subscription'
    );
    assert.equal(
      depth.samples.filter((s) => s.labels.channel === QUOTED_CHANNEL).length,
      1,
      'one series per channel'
    );
    await bus.close();
  });

  it('escapes newlines in label values (renderMetrics, as the public API cannot produce one)', () => {
    // Built from a real snapshot, then given label values the subject rules would refuse.
    const bus = new Bus({ dispatch: 'manual' });
    bus.subscribe('n.l', () => {}, { channel: 'ch' });
    bus.publish('n.l', 1);
    const real = bus.stats();
    assert.equal(real.channels.length, 1);
    assert.equal(real.topics.length, 1);
    const stats: BusStats = {
      ...real,
      channels: real.channels.map((q): QueueStats => ({ ...q, pattern: 'line1\nline2"\\' })),
      topics: real.topics.map((topic) => ({ ...topic, topic: 'a\nb' }))
    };
    const text = renderMetrics(stats);
    assert.ok(text.includes('pattern="line1\\nline2\\"\\\\"'), text);
    assert.ok(text.includes('topic="a\\nb"'), text);
    const depth = parseExposition(text).find((f) => f.name === 'ringbus_queue_depth')!;
    assert.equal(depth.samples[0].labels.pattern, 'line1\nline2"\\');
  });

  it('passes `promtool check metrics` with no lint problems', async (t) => {
    const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
    if (probe.error !== undefined && (probe.error as NodeJS.ErrnoException).code === 'ENOENT') {
      t.skip('promtool not found: install Debian package prometheus');
      return;
    }
    const bus = await busyBus();
    const text = bus.metrics();
    await bus.close();
    const result = spawnSync('promtool', ['check', 'metrics'], {
      input: text,
      encoding: 'utf8',
      timeout: 10_000
    });
    assert.equal(result.error, undefined, `promtool ran: ${String(result.error)}`);
    const output = `${result.stdout}${result.stderr}`.trim();
    assert.equal(output, '', `promtool printed lint problems:\n${output}`);
    assert.equal(result.status, 0, 'promtool exit code');
  });
});
