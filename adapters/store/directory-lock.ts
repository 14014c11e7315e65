import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { storeError } from './segment.js';

const LOCK_FILE = 'LOCK';

/** Lock files this process holds: its own pid in any other LOCK is a previous life's. */
const held = new Set<string>();

/**
 * One bus per store directory: a `LOCK` file holding the owner's pid, created exclusively. A lock
 * left by a process that is gone (killed, crashed) is taken over, and so is one naming this very
 * process when it does not hold it (a restarted container reuses its pid); one held by another
 * live process, or by another bus of this one, is refused: two writers would interleave their
 * segments.
 */
export class DirectoryLock {
  readonly path: string;
  #held = true;

  private constructor(path: string) {
    this.path = path;
  }

  /** @throws {@link RingbusError} `ERR_STORE` when a live process holds `dir`, or on an I/O error */
  static take(dir: string): DirectoryLock {
    const path = join(dir, LOCK_FILE);
    for (let tries = 0; tries < 2; tries++) {
      try {
        const fd = openSync(path, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        held.add(path);
        return new DirectoryLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
          throw storeError(`cannot lock the store directory ${dir}`, err);
      }
      const owner = Number(readFileSync(path, 'utf8'));
      const mine = owner === process.pid;
      if (Number.isInteger(owner) && owner > 0 && (mine ? held.has(path) : isAlive(owner))) {
        throw storeError(`the store directory ${dir} is in use by process ${owner}`);
      }
      unlinkSync(path); // stale: its owner is gone
    }
    throw storeError(`cannot lock the store directory ${dir}`);
  }

  release(): void {
    if (!this.#held) return;
    this.#held = false;
    held.delete(this.path);
    try {
      unlinkSync(this.path);
    } catch {
      // already gone (the directory was removed): nothing to release
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
