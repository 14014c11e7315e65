/**
 * The cheapest a queued bus can be on this machine: allocate one envelope (ringbus's real
 * `Message`), store it in a ring, read it back. Nothing else of the bus runs, so this is the
 * floor under any design that gives every publish an envelope a subscriber may keep. It runs in
 * a child process so the JIT state other scenarios leave behind cannot skew it.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Message, PLAIN } from '../src/message.js';
import { Ring } from '../src/ring.js';
import { BURST, PAYLOAD_MASK, payloads } from './shape.js';

const N = 4_000_000;
const RUNS = 5;

/** Median ns per message over {@link RUNS} runs of {@link N} messages (after a warm-up). */
function measure(): number {
  const ring = new Ring<Message>(BURST);
  let sink = 0;
  const once = (): number => {
    const t0 = performance.now();
    for (let i = 0; i < N; i += BURST) {
      for (let j = 0; j < BURST; j++)
        ring.push(new Message('sim.e1.pos', payloads[(i + j) & PAYLOAD_MASK], i + j, 1, 0, PLAIN));
      for (let j = 0; j < BURST; j++) sink += ring.shift()!.id;
    }
    return ((performance.now() - t0) * 1e6) / N;
  };
  once();
  const times = Array.from({ length: RUNS }, once).sort((a, b) => a - b);
  if (sink === 0) throw new Error('unreachable: keeps the loop from being optimised away');
  return times[RUNS >> 1];
}

/** {@link measure} in a fresh child process. */
export function envelopeFloorNs(): number {
  const out = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child'], {
    encoding: 'utf8'
  });
  if (out.status !== 0) throw new Error(`floor child failed (${out.status}): ${out.stderr}`);
  return Number(out.stdout.trim());
}

if (process.argv.includes('--child')) process.stdout.write(`${measure()}\n`);
