import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SIM = fileURLToPath(new URL('../../demo/sim.js', import.meta.url));

describe('the in-process simulation demo (npm run demo:sim)', () => {
  it('runs its ticks, loses no QoS 1 command, and exits 0 by itself', async () => {
    const { stdout } = await run(process.execPath, [SIM, '--seconds', '1'], { timeout: 20_000 });
    assert.match(stdout, /ran 60 ticks/u);
    assert.match(stdout, /handler errors 0/u);
    const sent = Number(/ai commands sent (\d+)/u.exec(stdout)?.[1]);
    const applied = /applied by worker 0: (\d+), worker 1: (\d+)/u.exec(stdout);
    assert.ok(sent > 0, stdout);
    assert.ok(applied !== null, stdout);
    assert.equal(Number(applied[1]) + Number(applied[2]), sent, 'every command applied');
    assert.ok(Number(applied[1]) > 0 && Number(applied[2]) > 0, 'both channel consumers worked');
  });

  it('rejects a bad --seconds with exit code 2 and a message', async () => {
    await assert.rejects(
      run(process.execPath, [SIM, '--seconds', 'soon'], { timeout: 20_000 }),
      (err: unknown) => {
        const e = err as { code: number; stderr: string };
        assert.equal(e.code, 2);
        assert.match(e.stderr, /seconds/u);
        return true;
      }
    );
  });
});
