import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCode as NatsErrorCode, connect } from 'nats';
import { Bus } from '../../adapters/node.js';
import { missingNatsServer, startNatsServer } from '../helpers/nats-cluster.js';
import { waitFor } from '../helpers/wait.js';
import { type CliProcess, type Owner, runCli, startCli, startServe } from './cli-process.js';

const dir = mkdtempSync(join(tmpdir(), 'ringbus-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `ringbus sub` and waits until its subscription is registered on the serving bus. */
async function subscribed(t: Owner, args: string[]): Promise<CliProcess> {
  const sub = startCli(t, ['sub', ...args]);
  await sub.waitFor('stderr', /^subscribed to '.*' on \S+\n/mu);
  return sub;
}

describe('the ringbus executable', { concurrency: true }, () => {
  it('prints the top-level help, exit 0', async (t) => {
    const help = await runCli(t, ['--help']);
    assert.deepEqual([help.code, help.stderr], [0, '']);
    assert.match(help.stdout, /^Usage: ringbus <command> \[options\]\n/u);
  });

  it('exits 2 on an unknown flag and on a config error, naming them on stderr', async (t) => {
    const config = join(dir, 'bad.json');
    writeFileSync(
      config,
      JSON.stringify({ listen: [{ url: 'tcp://127.0.0.1:0', keepaliveMs: 'x' }] })
    );
    const [flag, bad] = await Promise.all([
      runCli(t, ['sub', 'tcp://127.0.0.1:1', 'a', '--frobnicate']),
      runCli(t, ['serve', '--config', config])
    ]);
    assert.deepEqual([flag.code, flag.stdout], [2, '']);
    assert.match(
      flag.stderr,
      /^ringbus sub: Unknown option '--frobnicate'\nRun 'ringbus sub --help'/u
    );
    assert.deepEqual([bad.code, bad.stdout], [2, '']);
    assert.match(
      bad.stderr,
      /^ringbus serve: invalid config file \S+bad\.json: listen\[0\]\.keepaliveMs must be an integer \(got "x"\)\n$/u
    );
  });
});

describe('ringbus serve + pub + sub + stats', { concurrency: true }, () => {
  const unixUrl = `unix://${join(dir, 'serve.sock')}`;
  let tcp = '';
  let serve: CliProcess;
  const cleanups: (() => void)[] = [];
  after(() => cleanups.forEach((fn) => fn()));
  before(async () => {
    const started = await startServe({ after: (fn) => cleanups.push(fn) }, [
      '--listen',
      'tcp://127.0.0.1:0',
      '--listen',
      unixUrl,
      '--id',
      'cli-test'
    ]);
    serve = started.serve;
    tcp = started.urls[0]!;
    assert.match(tcp, /^tcp:\/\/127\.0\.0\.1:\d+$/u);
    assert.equal(started.urls[1], unixUrl);
  });

  it('sub --count 3 prints what pub sent, from an argument and from stdin lines', async (t) => {
    const sub = await subscribed(t, [unixUrl, 'rt.>', '--count', '3']);
    const one = await runCli(t, ['pub', tcp, 'rt.a', 'hello world']);
    assert.deepEqual([one.code, one.stdout, one.stderr], [0, '', '']);
    const lines = await runCli(t, ['pub', tcp, 'rt.b', '-', '--qos', '0'], 'one\n\ntwo\n');
    assert.deepEqual([lines.code, lines.stdout, lines.stderr], [0, '', '']);
    const r = await sub.result();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'rt.a hello world\nrt.b one\nrt.b two\n');
    assert.match(serve.stdout, /^link up: in \S+ peer \S+$/mu);
  });

  it('sub --json prints one object per line: payload encodings, headers, id, attempt, publishedAt', async (t) => {
    const sub = await subscribed(t, [tcp, 'js.*', '--json', '--count', '3']);
    const textFile = join(dir, 'text.txt');
    const binFile = join(dir, 'bin.dat');
    writeFileSync(textFile, 'héllo\n');
    writeFileSync(binFile, new Uint8Array([0xff, 0xfe, 0x00]));
    const start = Date.now();
    const pubs = [
      ['pub', tcp, 'js.obj', '{"n":1,"list":[true,null]}', '--json', '-H', 'k=v', '-H', 'eq=a=b'],
      ['pub', unixUrl, 'js.text', '--file', textFile, '--verbose'],
      ['pub', tcp, 'js.bin', '--file', binFile]
    ];
    for (const args of pubs) {
      const r = await runCli(t, args);
      assert.equal(r.code, 0, r.stderr);
    }
    const r = await sub.result();
    assert.equal(r.code, 0, r.stderr);
    const records = r.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(records.length, 3);
    for (const rec of records) {
      assert.deepEqual(Object.keys(rec).sort(), [
        'attempt',
        'headers',
        'id',
        'payload',
        'payloadEncoding',
        'publishedAt',
        'topic'
      ]);
      assert.equal(rec.attempt, 1);
      assert.ok(Number.isInteger(rec.id), 'id is an integer');
      assert.ok(
        (rec.publishedAt as number) >= start - 1000 &&
          (rec.publishedAt as number) <= Date.now() + 1000
      );
    }
    const [obj, text, bin] = records;
    assert.deepEqual(
      { ...obj, id: 0, publishedAt: 0 },
      {
        topic: 'js.obj',
        payload: { n: 1, list: [true, null] },
        payloadEncoding: 'json',
        headers: { k: 'v', eq: 'a=b' },
        id: 0,
        attempt: 1,
        publishedAt: 0
      }
    );
    assert.deepEqual(
      [text.topic, text.payload, text.payloadEncoding],
      ['js.text', 'héllo\n', 'utf8']
    );
    assert.deepEqual([bin.topic, bin.payload, bin.payloadEncoding], ['js.bin', '//4A', 'base64']);
  });

  it('sub --qos 1 --channel acks what it printed; the rest goes to the next consumer', async (t) => {
    const first = await subscribed(t, [
      tcp,
      'q.>',
      '--qos',
      '1',
      '--channel',
      'workers',
      '--count',
      '2'
    ]);
    const pub = await runCli(t, ['pub', tcp, 'q.x', '-'], 'a\nb\nc\n');
    assert.equal(pub.code, 0, pub.stderr);
    const r1 = await first.result();
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r1.stdout, 'q.x a\nq.x b\n');
    const second = await runCli(t, [
      'sub',
      tcp,
      'q.>',
      '--qos',
      '1',
      '--channel',
      'workers',
      '--count',
      '1',
      '--json'
    ]);
    assert.equal(second.code, 0, second.stderr);
    const rec = JSON.parse(second.stdout) as { payload: string; attempt: number };
    // 'c' is attempt 2 when it reached the first consumer before that one left unacked, else 1.
    assert.equal(rec.payload, 'c');
    assert.ok(rec.attempt === 1 || rec.attempt === 2, `attempt ${rec.attempt}`);
    const stats = await runCli(t, ['stats', tcp]);
    const channel = (
      JSON.parse(stats.stdout) as { channels: Record<string, unknown>[] }
    ).channels.find((c) => c.channel === 'workers');
    assert.deepEqual([channel?.acked, channel?.depth, channel?.inFlight], [3, 0, 0]);
  });

  it('stats prints the JSON of bus.stats(); --prom the Prometheus text', async (t) => {
    const [json, prom] = await Promise.all([
      runCli(t, ['stats', tcp]),
      runCli(t, ['stats', unixUrl, '--prom'])
    ]);
    assert.equal(json.code, 0, json.stderr);
    const stats = JSON.parse(json.stdout) as { id: string; links: { direction: string }[] };
    assert.equal(stats.id, 'cli-test');
    assert.ok(
      stats.links.some((l) => l.direction === 'in'),
      'the asking link is listed'
    );
    assert.match(json.stdout, /^\{\n {2}"id": "cli-test",\n/u);
    assert.equal(prom.code, 0, prom.stderr);
    assert.match(prom.stdout, /^# TYPE ringbus_messages_published_total counter$/mu);
  });
});

describe('ringbus failures exit 1 with the error code first', { concurrency: true }, () => {
  it('pub to an address nobody listens on: ERR_CONNECT', async (t) => {
    const r = await runCli(t, ['pub', `unix://${join(dir, 'nobody.sock')}`, 'a', 'b']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ringbus pub: ERR_CONNECT: .*nobody\.sock.*\n$/u);
    assert.equal(r.stdout, '');
  });

  it('stats against a bus without the $sys.stats responder: ERR_NO_RESPONDERS', async (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const listener = await bus.listen('tcp://127.0.0.1:0');
    const r = await runCli(t, ['stats', listener.url]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^ringbus stats: ERR_NO_RESPONDERS: the bus at \S+ does not answer '\$sys\.stats'/u
    );
  });

  it('a listener with auth: a wrong token is ERR_AUTH, outside its patterns ERR_FORBIDDEN', async (t) => {
    const config = join(dir, 'auth.json');
    writeFileSync(
      config,
      JSON.stringify({
        listen: [
          {
            url: 'tcp://127.0.0.1:0',
            auth: { tokens: { right: { publish: ['ok.>', '$sys.stats'], subscribe: ['ok.>'] } } }
          }
        ],
        logLevel: 'warn'
      })
    );
    const { urls } = await startServe(t, ['--config', config]);
    const url = urls[0];
    const [wrong, allowed, forbidden, subForbidden] = await Promise.all([
      runCli(t, ['pub', url, 'ok.x', 'm', '--token', 'wrong']),
      runCli(t, ['stats', url, '--token', 'right']),
      runCli(t, ['pub', url, 'no.x', 'm', '--token', 'right']),
      runCli(t, ['sub', url, 'no.>', '--token', 'right'])
    ]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^ringbus pub: ERR_AUTH: .*token is not accepted/u);
    assert.equal(allowed.code, 0, allowed.stderr); // publish on $sys.stats is allowed
    assert.match(allowed.stdout, /^\{\n/u);
    assert.equal(forbidden.code, 1);
    assert.match(forbidden.stderr, /^ringbus pub: ERR_FORBIDDEN: .*'no\.x'/u);
    assert.equal(subForbidden.code, 1);
    assert.match(subForbidden.stderr, /^ringbus sub: ERR_FORBIDDEN: .*'no\.>'/u);
    assert.doesNotMatch(subForbidden.stderr, /subscribed to/u);
  });
});

describe('ringbus signals', { concurrency: true }, () => {
  it('sub exits 0 on SIGINT while its handshake is still pending', async (t) => {
    // A peer that accepts the connection and never answers the handshake.
    const held: Socket[] = [];
    const server = createServer((socket) => held.push(socket));
    t.after(() => {
      for (const socket of held) socket.destroy();
      server.close();
    });
    const accepted = once(server, 'connection');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const sub = startCli(t, ['sub', `tcp://127.0.0.1:${port}`, 'a', '--timeout', '60000']);
    await accepted;
    sub.kill('SIGINT');
    const r = await sub.result();
    assert.deepEqual([r.code, r.signal, r.stdout, r.stderr], [0, null, '', '']);
  });

  it('sub exits 0 on SIGINT; serve closes its links, removes its socket and exits 0 on SIGTERM', async (t) => {
    const sock = join(dir, 'signals.sock');
    const { serve, urls } = await startServe(t, ['--listen', `unix://${sock}`]);
    assert.ok(existsSync(sock));
    const sub = await subscribed(t, [urls[0], 'any.>']);
    await serve.waitFor('stdout', /^link up: in /mu);
    sub.kill('SIGINT');
    const s = await sub.result();
    assert.deepEqual([s.code, s.signal, s.stdout], [0, null, '']);
    await serve.waitFor('stdout', /^link down: in /mu);
    serve.kill('SIGTERM');
    const r = await serve.result();
    assert.deepEqual([r.code, r.signal], [0, null]);
    assert.match(r.stdout, /^SIGTERM: shutting down$/mu);
    assert.equal(existsSync(sock), false);
  });
});

describe('ringbus serve --store', () => {
  it('keeps a named QoS 1 channel across a restart, even a SIGKILL', async (t) => {
    const storeDir = join(dir, 'store');
    const first = await startServe(t, ['--listen', 'tcp://127.0.0.1:0', '--store', storeDir]);
    const url = first.urls[0];
    // A QoS 1 consumer creates the channel on the serving bus, then leaves it.
    const consumer = await subscribed(t, [url, 'jobs.*', '--channel', 'w', '--qos', '1']);
    consumer.kill('SIGTERM');
    await consumer.result();
    const pub = await runCli(t, ['pub', url, 'jobs.a', 'kept', '--qos', '1']);
    assert.equal(pub.code, 0, pub.stderr);
    first.serve.kill('SIGKILL'); // acked by pub: on disk, whatever happens to the process now
    await first.serve.result();

    const second = await startServe(t, ['--listen', 'tcp://127.0.0.1:0', '--store', storeDir]);
    const sub = startCli(t, [
      'sub',
      second.urls[0],
      'jobs.*',
      '--channel',
      'w',
      '--qos',
      '1',
      '--count',
      '1'
    ]);
    const r = await sub.result();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'jobs.a kept\n');
  });
});

const noNats = missingNatsServer();
if (noNats !== undefined) console.warn(`ringbus serve NATS bridge tests: ${noNats}`);

describe('ringbus serve with NATS bridges', { skip: noNats }, () => {
  it('imports and exports through the nats entries of its config file', async (t) => {
    const server = await startNatsServer();
    t.after(() => server.stop());
    const config = join(dir, 'nats.json');
    const bridge = { url: server.urls[0], import: ['in.>'], export: ['out.>'] };
    writeFileSync(
      config,
      JSON.stringify({ listen: [{ url: 'tcp://127.0.0.1:0' }], nats: [bridge] })
    );
    const { serve, urls } = await startServe(t, ['--config', config]);
    await serve.waitFor('stdout', /^link up: out nats:\/\/\S+ peer nats:\S+\n/mu);
    const nc = await connect({ servers: server.urls[0] });
    t.after(() => nc.close());
    const fromBus: string[] = [];
    nc.subscribe('out.>', { callback: (_, m) => fromBus.push(`${m.subject} ${m.string()}`) });
    await nc.flush();

    const sub = await subscribed(t, [urls[0], 'in.>', '--count', '1']);
    // The bridge subscribes to its import in NATS once the sub's interest reached it, which the
    // sub's "subscribed" line does not wait for. Until then a request hears "no responders" at
    // once and nothing is delivered; the first one that does not was delivered (nobody answers).
    const ask = (): Promise<string | undefined> =>
      nc.request('in.a', 'from nats', { timeout: 250 }).then(
        () => undefined,
        (err: { code?: string }) => err.code
      );
    while ((await ask()) === NatsErrorCode.NoResponders);
    const r = await sub.result();
    assert.deepEqual([r.code, r.stdout], [0, 'in.a from nats\n'], r.stderr);
    const pub = await runCli(t, ['pub', urls[0], 'out.b', 'to nats']);
    assert.equal(pub.code, 0, pub.stderr);
    await waitFor(() => fromBus.length === 1, 5000, 'the export');
    assert.deepEqual(fromBus, ['out.b to nats']);
  });

  it('names a bad bridge field by its entry; a URL that is no NATS one is a config error', async (t) => {
    const server = await startNatsServer();
    t.after(() => server.stop());
    const typo = join(dir, 'nats-typo.json');
    writeFileSync(
      typo,
      JSON.stringify({ listen: [], nats: [{ url: server.urls[0], imports: ['a'] }] })
    );
    const scheme = join(dir, 'nats-scheme.json');
    writeFileSync(scheme, JSON.stringify({ listen: [], nats: [{ url: 'tcp://127.0.0.1:1' }] }));
    const [bad, wrong] = await Promise.all([
      runCli(t, ['serve', '--config', typo]),
      runCli(t, ['serve', '--config', scheme])
    ]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /ERR_INVALID_OPTIONS.*nats\[0\] \(nats:\/\/\S+\): .*imports/u);
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /nats\[0\]\.url must be a nats:\/\/ or tls:\/\/ URL/u);
  });
});
