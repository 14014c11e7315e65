/**
 * The nats-server cluster harness (test/helpers/nats-cluster.ts) against the real binary: a
 * three-node JetStream cluster keeps a replicated stream through a SIGKILL and a restart. Without
 * nats-server (.ci/run installs it) this file skips, saying so.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, type JetStreamClient } from 'nats';
import { missingNatsServer, startNatsCluster, startNatsServer } from '../helpers/nats-cluster.js';
import { within } from '../helpers/wait.js';

/** Publishes `t.<i>` with a message id, so a retry after a lost ack is stored only once. */
async function publishUntilAcked(js: JetStreamClient, i: number, deadline: number): Promise<void> {
  for (;;) {
    try {
      await js.publish(`t.${i}`, `m${i}`, { msgID: `m${i}`, timeout: 250 });
      return;
    } catch (err) {
      // While a stream leader is re-elected or the client reconnects, publishes fail or time out.
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('the nats-server cluster harness', () => {
  const missing = missingNatsServer();
  if (missing !== undefined) console.warn(`\n*** ${import.meta.url} ${missing} ***\n`);

  it(
    'starts a single server that accepts clients with its token',
    { timeout: 20_000 },
    async (t) => {
      if (missing !== undefined) return t.skip(missing);
      const server = await startNatsServer({ jetstream: true, token: 's3cret' });
      t.after(() => server.stop());
      assert.equal(server.nodes.length, 1);
      await server.jetStreamReady(10_000);
      const nc = await connect({ servers: server.urls, token: 's3cret', timeout: 2000 });
      await nc.flush();
      await nc.close();
      await assert.rejects(connect({ servers: server.urls, timeout: 2000, reconnect: false }));
    }
  );

  it(
    'a 3-node cluster keeps an R3 stream through a SIGKILL and restart of a node',
    { timeout: 60_000 },
    async (t) => {
      if (missing !== undefined) return t.skip(missing);
      const cluster = await startNatsCluster(3);
      t.after(() => cluster.stop());
      await cluster.jetStreamReady(20_000);

      const admin = await connect({ servers: cluster.urls, timeout: 2000, reconnectTimeWait: 50 });
      t.after(() => admin.close());
      const jsm = await admin.jetstreamManager();
      const created = await jsm.streams.add({ name: 'T', subjects: ['t.>'], num_replicas: 3 });

      // The victim is a node other than the stream's leader (killing the leader costs a ~5 s
      // re-election of NATS's own, not the harness's); the publisher connects to it first, so the
      // kill makes it move to a survivor.
      const victim = cluster.nodes.find((n) => n.name !== created.cluster?.leader)!;
      const others = cluster.urls.filter((url) => url !== victim.url);
      const nc = await connect({
        servers: [victim.url, ...others],
        noRandomize: true,
        timeout: 2000,
        reconnectTimeWait: 50
      });
      t.after(() => nc.close());
      assert.equal(nc.info?.server_name, victim.name);
      const js = nc.jetstream();
      for (let i = 0; i < 10; i++) await js.publish(`t.${i}`, `m${i}`, { msgID: `m${i}` });

      await within(victim.kill(), 5000, 'kill');
      assert.equal(victim.pid, undefined);
      const deadline = Date.now() + 20_000;
      for (let i = 10; i < 20; i++) await publishUntilAcked(js, i, deadline);
      assert.ok(nc.info !== undefined && nc.info.server_name !== victim.name, 'reconnected');

      await within(victim.restart(), 15_000, 'restart');
      assert.notEqual(victim.pid, undefined);
      // Every node, the restarted one too, answers JetStream again once it follows a meta leader.
      // When the victim was the meta leader, the survivors elect another first: nats-server 2.9's
      // election timeout is 4-9 s, so that run takes about 5 s longer.
      await cluster.jetStreamReady(20_000);
      const info = await jsm.streams.info('T');
      assert.equal(info.state.messages, 20);
      assert.equal(info.config.num_replicas, 3);
    }
  );
});
