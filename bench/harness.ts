/**
 * Measurement primitives: timing, medians and quantiles, GC counting and heap figures, and the
 * list parsing of the suites' environment filters. Nothing here knows about ringbus or the
 * peers; scenarios hand it `run(n)` functions.
 */
import { execSync } from 'node:child_process';
import os from 'node:os';
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';

/** Runs `n` messages through one library; may be async (microtask dispatch, emittery). */
export type RunFn = (n: number) => void | Promise<void>;

/** One library prepared for one scenario. */
export interface Contender {
  /** Row label, e.g. `ringbus (manual)`. */
  name: string;
  run: RunFn;
  /** Deliveries handlers have seen so far: checked after every run, so no contender can skip work. */
  delivered(): number;
  /** Messages per timed run; the slow async peers use fewer. */
  n: number;
}

/** The median of the timed runs of one contender. */
export interface Result {
  name: string;
  n: number;
  runs: number;
  /** Median messages per second. */
  msgsPerSec: number;
  /** Median handler invocations per second. */
  deliveriesPerSec: number;
  /** Relative spread: (max − min) / median of msgs/s. */
  spread: number;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The q-quantile (0..1) of ascending `sorted`, nearest rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** A comma-separated list from the environment variable `name`; undefined when unset or empty. */
export function envList(name: string): string[] | undefined {
  const v = process.env[name];
  return v === undefined || v.trim() === '' ? undefined : v.split(',').map((s) => s.trim());
}

/**
 * Timed runs per cell: `runs` when given, else the environment variable `name`, else
 * `defaultRuns`; a positive integer or it throws.
 */
export function envRuns(name: string, defaultRuns: number, runs?: number): number {
  const n = runs ?? Number(process.env[name] ?? defaultRuns);
  if (!Number.isInteger(n) || n < 1) throw new Error(`runs must be a positive integer (got ${n})`);
  return n;
}

/** Rejects names that match nothing, so a typo in a filter does not silently run nothing. */
export function checkNames(
  what: string,
  names: readonly string[] | undefined,
  known: readonly string[]
): void {
  const unknown = names?.filter((n) => !known.includes(n)) ?? [];
  if (unknown.length > 0) {
    throw new Error(`unknown ${what} ${unknown.join(', ')} (known: ${known.join(', ')})`);
  }
}

/** The first line of an error's message (or of its string form), for one-line skip reasons. */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

/** `global.gc`, which exists only under `--expose-gc`; the bench refuses to run without it. */
export function forceGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench does)');
  gc();
}

/** Runs one contender `n` messages and checks it delivered what it had to. */
async function timeOnce(c: Contender, n: number, deliveriesPerMsg: number): Promise<number> {
  const before = c.delivered();
  const t0 = performance.now();
  const pending = c.run(n);
  if (pending !== undefined) await pending;
  const elapsed = performance.now() - t0;
  const got = c.delivered() - before;
  if (got !== n * deliveriesPerMsg) {
    throw new Error(
      `${c.name}: ${got} deliveries for ${n} messages, expected ${n * deliveriesPerMsg}`
    );
  }
  return elapsed;
}

/**
 * Warms every contender up, then times `runs` rounds. Each round runs every contender once, in
 * an order rotated per round, so slow drift (thermal, GC heap growth, JIT) is spread evenly
 * instead of landing on whichever library happens to run last.
 */
export async function measure(
  contenders: readonly Contender[],
  deliveriesPerMsg: number,
  runs: number
): Promise<Result[]> {
  for (let w = 0; w < 2; w++) {
    for (const c of contenders) await timeOnce(c, Math.max(1024, c.n >> 2), deliveriesPerMsg);
  }
  const times = contenders.map((): number[] => []);
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < contenders.length; k++) {
      const i = (k + r) % contenders.length;
      const c = contenders[i];
      forceGc(); // start every run with an empty young generation
      times[i].push(await timeOnce(c, c.n, deliveriesPerMsg));
    }
  }
  return contenders.map((c, i) => {
    const rates = times[i].map((ms) => (c.n * 1000) / ms);
    const m = median(rates);
    return {
      name: c.name,
      n: c.n,
      runs,
      msgsPerSec: m,
      deliveriesPerSec: m * deliveriesPerMsg,
      spread: (Math.max(...rates) - Math.min(...rates)) / m
    };
  });
}

/** GC activity and retained-heap growth over one long run. */
export interface GcResult {
  name: string;
  n: number;
  minor: number;
  major: number;
  /** Incremental marking steps and weak-callback passes, counted apart from the collections. */
  other: number;
  /** Total GC pause time, ms. */
  gcMs: number;
  /** heapUsed after a forced GC, after minus before: what the run left behind. */
  heapGrowth: number;
}

/** Counts GC events by kind. Entries arrive asynchronously, hence {@link GcCounter.settle}. */
class GcCounter {
  minor = 0;
  major = 0;
  other = 0;
  ms = 0;
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) this.minor++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) this.major++;
      else this.other++;
      this.ms += e.duration;
    }
  });

  start(): void {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** Lets queued 'gc' entries reach the observer, then stops observing. */
  async stop(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 20));
    this.observer.disconnect();
  }
}

/**
 * Runs `n` messages through `c` (in chunks of its usual size, so the async contenders keep their
 * shape) while counting GCs; the forced GCs around it are outside the observed window.
 */
export async function gcProfile(c: Contender, n: number): Promise<GcResult> {
  forceGc();
  const heapBefore = process.memoryUsage().heapUsed;
  const counter = new GcCounter();
  counter.start();
  for (let done = 0; done < n; done += c.n) {
    const p = c.run(Math.min(c.n, n - done));
    if (p !== undefined) await p;
  }
  await counter.stop();
  forceGc();
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  return {
    name: c.name,
    n,
    minor: counter.minor,
    major: counter.major,
    other: counter.other,
    gcMs: counter.ms,
    heapGrowth
  };
}

/** Where and on what the numbers were taken. */
export interface MachineInfo {
  node: string;
  v8: string;
  cpu: string;
  cores: number;
  platform: string;
  commit: string;
  date: string;
  /** 1-minute load average when the bench started: other work on the machine skews the figures. */
  load: number;
}

export function machineInfo(): MachineInfo {
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    const dirty =
      execSync('git status --porcelain', { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim() !== '';
    if (dirty) commit += ' (with uncommitted changes)';
  } catch {
    // not a git checkout (e.g. an npm tarball): the commit is simply unknown
  }
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    commit,
    date: new Date().toISOString(),
    load: os.loadavg()[0]
  };
}
