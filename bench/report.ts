/**
 * Turns results into tables: plain text for the console and Markdown for docs/benchmarks.md.
 * One table model, two renderers, so the console and the document can never disagree.
 */
import type { AllocReport } from './alloc.js';
import type { ScenarioResult } from './emitters.bench.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type GcResult, type MachineInfo, machineInfo } from './harness.js';

export interface Table {
  title: string;
  note?: string;
  head: string[];
  rows: string[][];
}

/** 12345678 → "12.35 M". */
export function rate(perSec: number): string {
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(2)} M`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(1)} k`;
  return perSec.toFixed(0);
}

export function ratio(x: number): string {
  return `${x >= 100 ? x.toFixed(0) : x.toFixed(2)}×`;
}

function bytes(n: number): string {
  const sign = n < 0 ? '−' : '';
  const a = Math.abs(n);
  if (a >= 1 << 20) return `${sign}${(a / (1 << 20)).toFixed(1)} MiB`;
  if (a >= 1 << 10) return `${sign}${(a / (1 << 10)).toFixed(1)} KiB`;
  return `${sign}${a.toFixed(0)} B`;
}

/**
 * The first library of a scenario is its reference (ringbus manual QoS 0, or QoS 1 in (d)); the
 * ratio column divides the reference's msgs/s by each row's.
 */
export function scenarioTable({ scenario, results }: ScenarioResult): Table {
  const ref = results[0];
  return {
    title: scenario.title,
    note: scenario.note,
    head: [
      'library',
      'msgs/s (median)',
      'deliveries/s',
      `${ref.name} ÷ this`,
      'msgs × runs',
      'spread'
    ],
    rows: results.map((r) => [
      r.name,
      rate(r.msgsPerSec),
      rate(r.deliveriesPerSec),
      r === ref ? '1.00× (reference)' : ratio(ref.msgsPerSec / r.msgsPerSec),
      `${rate(r.n)} × ${r.runs}`,
      `±${((r.spread / 2) * 100).toFixed(0)}%`
    ])
  };
}

export interface Target {
  name: string;
  goal: string;
  measured: string;
  /** Undefined when a figure it needs was not measured in this run. */
  met?: boolean;
}

function status(t: Target): string {
  if (t.met === undefined) return 'not measured';
  return t.met ? 'met' : '**not met**';
}

export function targetTable(targets: readonly Target[], title = 'Targets'): Table {
  return {
    title,
    head: ['target', 'goal', 'measured', 'status'],
    rows: targets.map((t) => [t.name, t.goal, t.measured, status(t)])
  };
}

export function gcTable(results: readonly GcResult[]): Table {
  return {
    title: 'GC over a long run',
    note:
      'GC events seen by a PerformanceObserver (`gc` entries) while publishing the given number of messages; ' +
      'heap growth is `heapUsed` after a forced GC minus before one, i.e. what the run left behind.',
    head: [
      'scenario / library',
      'messages',
      'minor GCs',
      'major GCs',
      'GC pause total',
      'heap growth'
    ],
    rows: results.map((r) => [
      r.name,
      rate(r.n),
      String(r.minor),
      String(r.major),
      `${r.gcMs.toFixed(1)} ms`,
      bytes(r.heapGrowth)
    ])
  };
}

export function allocTable(report: AllocReport): Table {
  const b = (x: number | undefined): string => (x === undefined ? 'n/a' : `${x.toFixed(1)} B`);
  return {
    title: 'Bytes allocated per message',
    note:
      `A child process (young generation of 256–512 MiB, so nothing is collected mid-window) publishes ${rate(report.n)} ` +
      'messages after a warm-up and divides the `heapUsed` delta by the message count. ' +
      `One ringbus envelope measures ${b(report.envelopeBytes.qos0)} (QoS 0) and ${b(report.envelopeBytes.qos1)} (QoS 1) the same way.`,
    head: ['case', 'bytes / message', 'GCs in window'],
    rows: report.results.map((r) => [
      r.name,
      r.bytesPerMsg === undefined ? 'invalid (GC ran)' : r.bytesPerMsg.toFixed(1),
      String(r.gcs)
    ])
  };
}

export function machineLines(m: MachineInfo): string[] {
  return [
    `Node ${m.node}, V8 ${m.v8}`,
    `CPU: ${m.cpu} (${m.cores} cores), ${m.platform}`,
    `Commit: ${m.commit}`,
    `Date: ${m.date}`,
    `Load average (1 min) at start: ${m.load.toFixed(2)}`
  ];
}

/** Fixed-width text table for the console, followed by its note when it has one. */
export function textTable(t: Table): string {
  const widths = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    `\n${t.title}`,
    line(t.head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...t.rows.map(line),
    ...(t.note === undefined ? [] : [t.note])
  ].join('\n');
}

export function markdownTable(t: Table, level = '###'): string {
  const esc = (c: string): string => c.replaceAll('|', '\\|');
  return [
    `${level} ${t.title}`,
    '',
    ...(t.note === undefined ? [] : [t.note, '']),
    `| ${t.head.map(esc).join(' | ')} |`,
    `| ${t.head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
    ''
  ].join('\n');
}

/** Legend lines as a Markdown list: a line indented by two spaces continues the item before it. */
export function markdownList(lines: readonly string[]): string[] {
  const items: string[] = [];
  for (const line of lines) {
    if (line.startsWith('  ')) items[items.length - 1] += ` ${line.trim()}`;
    else items.push(line);
  }
  return items.map((l) => `- ${l}`);
}

/** What a suite prints when run on its own. */
export interface SuiteReport {
  /** Lines printed before the tables (the network suite's peer versions). */
  readonly preface?: readonly string[];
  readonly tables: readonly Table[];
  readonly legend: readonly string[];
  readonly targets: readonly Target[];
  /** `<Name> targets`, and the closing line. */
  readonly name: string;
  readonly summary: string;
}

/**
 * Runs a suite on its own when `moduleUrl` is the script node was started with
 * (`node build/bench/<suite>/run.js`): machine lines, the suite, its tables, legend and targets.
 */
export async function runStandalone(
  moduleUrl: string,
  run: () => Promise<SuiteReport>
): Promise<void> {
  const script = process.argv[1];
  if (script === undefined || path.resolve(script) !== fileURLToPath(moduleUrl)) return;
  console.log(machineLines(machineInfo()).join('\n'));
  const r = await run();
  if (r.preface !== undefined) console.log(r.preface.join('\n'));
  for (const t of r.tables) console.log(textTable(t));
  console.log(`\n${r.legend.join('\n')}`);
  console.log(textTable(targetTable([...r.targets], `${r.name} targets`)));
  console.log(`\n${r.summary}`);
}
