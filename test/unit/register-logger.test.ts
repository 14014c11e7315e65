import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bus, type Logger, registerLogger, silentLogger } from '../../adapters/node.js';

/** Records every call, by level. Its own file: the registration is process-wide. */
function recordingLogger(): { logger: Logger; calls: [string, unknown][] } {
  const calls: [string, unknown][] = [];
  const at =
    (level: string) =>
    (objOrMsg: unknown): void =>
      void calls.push([level, objOrMsg]);
  const logger: Logger = {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal')
  };
  return { logger, calls };
}

void describe('registerLogger', () => {
  void it('gives new buses without a logger option the registered one; an option still wins', (t) => {
    const registered = recordingLogger();
    const own = recordingLogger();
    registerLogger(registered.logger);
    t.after(() => registerLogger(silentLogger));
    const plain = new Bus();
    const chosen = new Bus({ logger: own.logger });
    t.after(async () => {
      await plain.close();
      await chosen.close();
    });
    for (const bus of [plain, chosen]) {
      bus.on('error', () => undefined);
      bus.subscribe('t', () => {
        throw new Error('handler failed');
      });
      bus.publish('t', 1);
    }
    plain.flush();
    chosen.flush();
    assert.deepEqual(
      registered.calls.map(([level]) => level),
      ['warn'],
      'the plain bus logged its failing handler to the registered logger'
    );
    assert.deepEqual(
      own.calls.map(([level]) => level),
      ['warn'],
      'the bus with its own logger used that one only'
    );
  });
});
