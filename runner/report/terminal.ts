/**
 * The terminal reporter, in one of two views. Per host: a line per task result, coloured by status, diffs
 * under --diff, a spinner that names the hosts still working, and a recap line per host. Grouped (a run on
 * more than AUTO_PER_HOST_MAX hosts, or --grouped): a line per task with counts per status, identical
 * changes merged with their hosts as ranges (`node[01:95]`), failures and unreachable hosts in full, a
 * progress line for the task that runs, and recap lines merged across hosts with the same counts. Without
 * a terminal (CI, pipes) it prints the same lines without colour codes, spinner or progress line. --json
 * and the audit log get every host's full result whatever the view.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import type { Ora } from 'ora';
import { DRIFT_EXIT_STATUS, type Reporter, type StampedEvent } from '../events.ts';
import type { TaskResult, TaskStatus } from '../result.ts';
import type { Redactor } from '../secret.ts';
import { printable as n, printableText } from '../printable.ts';
import { renderDiff } from './diff.ts';
import { type ResultFlags, type TaskGroup, TaskGroups } from './task-groups.ts';
import { type CountedStatus, hostRange, mergeRecap, summarizeTask } from './task-summary.ts';

/**
 * Runs on at most this many hosts get the per-host view by default: five lines per task still read at a
 * glance and name every host, and every host's line is where small runs (and their tests) look; beyond
 * that a task's lines stop fitting a screen and the grouped view takes over.
 */
export const AUTO_PER_HOST_MAX = 5;

/** `auto`: per host up to AUTO_PER_HOST_MAX hosts or with -v (which shows each host's commands), grouped beyond. */
export type HostView = 'auto' | 'per-host' | 'grouped';

/** ora's factory, for the spinner and progress line. */
export type SpinnerFactory = typeof import('ora').default;

/**
 * Loads ora. Only an interactive terminal shows a spinner, so only such a run should pay for loading it
 * (about 25 ms of start-up); CI, pipes and --json skip it.
 */
export async function loadSpinner(): Promise<SpinnerFactory> {
  return (await import('ora')).default;
}

export interface TerminalOptions {
  stream: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Colours, and the spinner when `spinner` is given; default: whether the stream is a terminal. */
  interactive: boolean;
  /** ora (from loadSpinner()) for an interactive terminal; without it the reporter shows no spinner. */
  spinner?: SpinnerFactory;
  showDiff: boolean;
  /** Print every command sent (-v). */
  verbose: boolean;
  /** -v count: 2 (-vv) also prints each command's output; default 1 when `verbose`, else 0. */
  verbosity?: number;
  redactor: Redactor;
  /** Default `auto`. */
  hostView?: HostView;
}

export class TerminalReporter implements Reporter {
  readonly #color: ChalkInstance;
  readonly #spinner: Ora | undefined;
  /** host → task it is working on, for the spinner text. */
  readonly #working = new Map<string, string>();
  /** The grouped view's open tasks; undefined in the per-host view (decided at run-start). */
  #groups: TaskGroups | undefined;
  /** Grouped: a host's warning → the hosts that got it, printed once per batch (a missing handler warns on every host). */
  readonly #warnings = new Map<string, string[]>();

  constructor(private readonly options: TerminalOptions) {
    this.#color = new Chalk({ level: options.interactive ? 1 : 0 });
    // A terminal that reports no width (a pty nobody sized, as some CI runners and `script` give) would
    // make ora divide by zero and loop forever clearing lines: such a terminal gets colours, no spinner.
    this.#spinner =
      options.interactive && options.spinner && terminalWidth(options.stream) > 0
        ? options.spinner({ stream: options.stream as NodeJS.WriteStream, isEnabled: true, discardStdin: false })
        : undefined;
  }

  handle(event: StampedEvent): void {
    const c = this.#color;
    switch (event.kind) {
      case 'run-start': {
        const what = event.info.playbook?.path ?? event.info.runKind;
        const mode = event.info.mode === 'check' ? c.cyan('check (dry run: nothing is changed)') : 'apply';
        this.print(`${c.bold('drover')} ${mode}: ${what} on ${event.hosts.length} host(s) · run ${event.runId}`);
        if (this.grouping(event.hosts.length)) this.#groups = new TaskGroups(event.hosts);
        return;
      }
      case 'play-start': {
        if (this.#groups) this.printGroups(this.#groups.expect(event.hosts));
        this.printWarnings();
        const hosts = this.#groups ? `${hostRange(event.hosts.map(n))} (${event.hosts.length} hosts)` : event.hosts.map(n).join(', ');
        this.print(`\n${c.bold(`PLAY ${n(event.play)}`)}${event.batches > 1 ? ` (batch ${event.batch}/${event.batches})` : ''} · ${hosts}`);
        return;
      }
      case 'task-start': {
        this.#working.set(event.host, event.task);
        // The progress line moves on before the tasks it completed print, so they are not shown under a stale one.
        const done = this.#groups?.start(event.host, event.task, event.module) ?? [];
        this.updateSpinner();
        this.printGroups(done);
        return;
      }
      case 'task-result': {
        this.#working.delete(event.result.host);
        // A task the tags left out is not news: hundreds of such lines would bury the few that ran (-v shows them).
        const quiet = (event.byTags === true && !this.options.verbose) || (event.result.verbosity ?? 0) > this.verbosity();
        const flags: ResultFlags = { quiet, echoed: event.echoed === true, ignored: event.ignored === true };
        if (this.#groups) {
          const done = this.#groups.add(event.result, flags, event.handler);
          this.updateSpinner();
          this.printGroups(done);
          return;
        }
        if (!quiet && (!event.echoed || event.result.status === 'unreachable')) this.printResult(event.result, event.handler, flags.ignored);
        this.updateSpinner();
        return;
      }
      case 'task-retry': {
        // Grouped: a line per host per attempt is what the view exists to avoid; the task's lines say which
        // hosts retried, a failure in full says after how many attempts, and the audit log has each attempt.
        if (this.#groups) {
          this.#groups.retry(event.host, event.task, event.module);
          return;
        }
        const next = event.delaySeconds > 0 ? `; again in ${event.delaySeconds} s` : '; again now';
        const line = `  ${c.yellow('retry'.padEnd(12))} ${c.bold(n(event.host))}  ${n(event.task)} ${c.dim(`[${event.module}]`)} attempt ${event.attempt}/${event.attempts} ${event.status}${next}`;
        this.print(line);
        if (this.options.verbose) this.print(c.dim(indent(this.mask(event.msg), 6)));
        return;
      }
      case 'trace':
        this.print(
          c.dim(
            `  ${'v'.repeat(event.level)} ${n(event.host)}: ${this.mask(event.message)}${event.detail?.trim() ? `\n${indent(this.mask(event.detail).trimEnd(), 6)}` : ''}`,
          ),
        );
        return;
      case 'host-output':
        this.printOutput(event.host, event.exitCode, event.stdout, event.stderr);
        return;
      case 'host-unreachable':
        this.print(c.magenta(`  UNREACHABLE ${n(event.host)}: ${this.mask(event.message)}${event.hint ? `\n    hint: ${this.mask(event.hint)}` : ''}`));
        return;
      case 'warning':
        if (this.#groups && event.host !== undefined) {
          const hosts = this.#warnings.get(event.message) ?? [];
          hosts.push(event.host);
          this.#warnings.set(event.message, hosts);
          return;
        }
        this.print(c.yellow(`  warning${event.host ? ` (${n(event.host)})` : ''}: ${this.mask(event.message)}`));
        return;
      case 'stopping':
        this.print(c.red.bold(`\n  STOPPING (${event.reason}): ${this.mask(event.message)}`));
        return;
      case 'play-end': {
        const done = this.#groups?.flush() ?? [];
        this.updateSpinner();
        this.printGroups(done);
        this.printWarnings();
        return;
      }
      case 'run-end':
        if (this.#groups) this.printGroups(this.#groups.flush());
        this.printWarnings();
        this.#spinner?.stop();
        this.printRecap(event);
        return;
      default: {
        const unhandled: never = event;
        throw new Error(`no terminal format for event ${JSON.stringify(unhandled)}`);
      }
    }
  }

  async close(): Promise<void> {
    this.#spinner?.stop();
  }

  /** Whether a run on this many hosts gets the grouped view. */
  private grouping(hosts: number): boolean {
    const view = this.options.hostView ?? 'auto';
    if (view !== 'auto') return view === 'grouped';
    return hosts > AUTO_PER_HOST_MAX && this.verbosity() === 0;
  }

  /** The run's -v count (0 without -v). */
  private verbosity(): number {
    return this.options.verbose ? (this.options.verbosity ?? 1) : 0;
  }

  private printResult(result: TaskResult, handler: boolean, ignored: boolean): void {
    const c = this.#color;
    const status = this.statusLabel(result.status, result.checkMode, result.uncertain);
    const label = `${handler ? 'handler: ' : ''}${n(result.task)}`;
    const detail = result.status === 'ok' || result.status === 'skipped' ? c.dim(` (${this.mask(result.msg)})`) : '';
    const override =
      result.checkModeOverride === 'always-run'
        ? c.magenta(' (ran for real despite --check: checkMode always-run)')
        : result.checkModeOverride === 'always-check'
          ? c.cyan(' (dry run only: checkMode always-check)')
          : '';
    const attempts = result.attempts !== undefined && result.attempts > 1 ? c.dim(` after ${result.attempts} attempts`) : '';
    const condition = result.condition ? c.dim(` (${this.mask(result.condition)})`) : '';
    const via = this.via(result.delegatedTo);
    this.print(
      `  ${status} ${c.bold(n(result.host))}${via}  ${label} ${c.dim(`[${result.module}]`)}${detail}${attempts}${condition}${override}${ignored ? c.yellow(' (ignored: ignoreErrors)') : ''}`,
    );
    if (result.status === 'changed') {
      const block = this.changeBlock(result);
      if (block) this.print(block);
    }
    if (this.options.verbose) {
      const outputs = (this.options.verbosity ?? 1) >= 2;
      for (const command of result.commands) {
        this.print(c.dim(indent(`$ ${this.mask(command.display)}${command.executed ? ` → ${command.exitCode}` : ' (not run)'}`, 6)));
        // -vv: what the command answered (masked before it is indented, like every output).
        if (outputs && command.executed) {
          if (command.stdout.trim()) this.print(c.dim(indent(this.mask(command.stdout).trimEnd(), 8)));
          if (command.stderr.trim()) this.print(c.red(indent(this.mask(command.stderr).trimEnd(), 8)));
        }
      }
    }
    if (result.status === 'failed' || result.status === 'unreachable') {
      this.print(c.red(indent(this.mask(result.msg), 6)));
      if (result.failure?.hint) this.print(c.yellow(indent(`hint: ${this.mask(result.failure.hint)}`, 6)));
    }
  }

  /** The lines under a changed result: each change, the diffs under --diff, a dry run's unpredictable commands. */
  private changeBlock(result: TaskResult): string {
    const c = this.#color;
    const lines: string[] = [];
    // A dry-run task that read what an earlier task may change unpredictably says which task that is.
    const cannotKnow = result.checkMode && result.uncertain ? /^would run \((cannot know: .*?)\): ([\s\S]*)$/.exec(result.msg) : null;
    if (cannotKnow) lines.push(c.yellow(indent(this.mask(result.changes.length > 0 ? cannotKnow[1]! : `${cannotKnow[1]}: ${cannotKnow[2]}`), 6)));
    // A change's summary is an imperative (runner/module.ts, Change): "would create /etc/motd (28 bytes)".
    for (const change of result.changes) lines.push(`      ${result.checkMode ? 'would ' : ''}${this.mask(change)}`);
    if (this.options.showDiff) {
      for (const diff of result.diffs) lines.push(indent(colourDiff(this.mask(renderDiff(diff)), c), 6));
    }
    if (result.checkMode && result.uncertain) {
      for (const command of result.commands) lines.push(c.dim(indent(`$ ${this.mask(command.display)}`, 6)));
    }
    return lines.join('\n');
  }

  /**
   * The grouped view of complete tasks: per task a line with its counts, then the changed hosts merged by
   * identical changes, skip reasons (and debug's messages) merged by text, and each failure in full.
   */
  private printGroups(groups: TaskGroup[]): void {
    const c = this.#color;
    for (const group of groups) {
      const summary = summarizeTask(group, (result) => this.changeBlock(result));
      if (!summary) continue;
      const check = group.results.some((entry) => entry.result.checkMode);
      // A dry run's changes it cannot predict with certainty are counted as what their lines say: would run.
      const counted = summary.counts.flatMap(({ status, count }) =>
        status === 'changed' && check
          ? [
              ...(count > summary.wouldRun ? [`would change ${count - summary.wouldRun}`] : []),
              ...(summary.wouldRun > 0 ? [`would run ${summary.wouldRun}`] : []),
            ].map((text) => this.paintStatus(status)(text))
          : [this.paintStatus(status)(`${status} ${count}`)],
      );
      const counts = counted.join(c.dim(' · '));
      this.print(`  ${c.bold(`${summary.handler ? 'handler: ' : ''}${n(summary.task)}`)} ${c.dim(`[${summary.module}]`)}  ${counts}`);
      // Each attempt is in the audit log (task-retry records); here, which hosts needed more than one.
      if (group.retried.length > 0) this.print(`    ${c.yellow('retried')} ${this.hostsLabel(group.retried)}`);
      for (const change of summary.changes) {
        const word = change.checkMode ? (change.uncertain ? 'would run' : 'would change') : 'changed';
        this.print(`    ${c.yellow(word)} ${this.hostsLabel(change.hosts)}${this.via(change.delegatedTo)}`);
        if (change.block) this.print(change.block);
      }
      for (const note of summary.notes) {
        this.print(
          `    ${this.paintStatus(note.status)(note.status)} ${this.hostsLabel(note.hosts)}${this.via(note.delegatedTo)}${c.dim(`: ${this.mask(note.msg)}`)}`,
        );
      }
      for (const failure of summary.failures) this.printResult(failure.result, summary.handler, failure.ignored);
    }
  }

  /** Grouped: the hosts' warnings collected since the last batch ended, each message once with its hosts. */
  private printWarnings(): void {
    for (const [message, hosts] of this.#warnings)
      this.print(this.#color.yellow(`  warning (${hostRange(hosts.map(n))}${hosts.length > 1 ? `, ${hosts.length} hosts` : ''}): ${this.mask(message)}`));
    this.#warnings.clear();
  }

  /** ` → lb1` after the hosts of a delegated task: where it ran instead. */
  private via(delegatedTo: string | undefined): string {
    return delegatedTo ? this.#color.cyan(` → ${n(delegatedTo)}`) : '';
  }

  /** `node[01:95] (95 hosts)`, or the one host's name. */
  private hostsLabel(hosts: string[]): string {
    const names = hostRange(hosts.map(n));
    return `${this.#color.bold(names)}${hosts.length > 1 ? ` (${hosts.length} hosts)` : ''}`;
  }

  private paintStatus(status: CountedStatus): ChalkInstance {
    const c = this.#color;
    switch (status) {
      case 'ok':
        return c.green;
      case 'changed':
        return c.yellow;
      case 'failed':
        return c.red.bold;
      case 'skipped':
        return c.cyan;
      case 'unreachable':
        return c.magenta.bold;
      case 'ignored':
        return c.yellow;
    }
  }

  private printOutput(host: string, exitCode: number | null, stdout: string, stderr: string): void {
    const c = this.#color;
    const status = exitCode === 0 ? c.green(`rc=${exitCode}`) : c.red(`rc=${exitCode ?? 'killed'}`);
    this.print(`${c.bold(n(host))} | ${status}`);
    if (stdout.trim()) this.print(indent(this.mask(stdout).trimEnd(), 2));
    if (stderr.trim()) this.print(c.red(indent(this.mask(stderr).trimEnd(), 2)));
  }

  private printRecap(event: Extract<StampedEvent, { kind: 'run-end' }>): void {
    const c = this.#color;
    this.print(`\n${c.bold('RECAP')} (${(event.durationMs / 1000).toFixed(1)} s)`);
    // Grouped: hosts whose recap lines would be identical share one, named as ranges, with their number.
    const rows = this.#groups
      ? mergeRecap(event.recap).map(({ hosts, line }) => ({ name: hostRange(hosts.map(n)), line, hosts: hosts.length }))
      : event.recap.map((line) => ({ name: n(line.host), line, hosts: 1 }));
    const width = Math.max(4, ...rows.map((row) => row.name.length));
    for (const { name, line, hosts } of rows) {
      const paint = line.failed > 0 ? c.red : line.unreachable > 0 ? c.magenta : line.changed > 0 ? c.yellow : c.green;
      const counts = `ok=${line.ok} changed=${line.changed} failed=${line.failed} skipped=${line.skipped} unreachable=${line.unreachable} ignored=${line.ignored}${line.rescued ? ` rescued=${line.rescued}` : ''}`;
      const many = hosts > 1 ? c.dim(` · ${hosts} hosts`) : '';
      this.print(`  ${paint(name.padEnd(width))} : ${counts}${line.notRun ? c.dim(' (stopped before finishing)') : ''}${many}`);
    }
    const verdict = event.interrupted
      ? c.red('interrupted')
      : event.exitCode === 0
        ? c.green('ok')
        : event.exitCode === 4
          ? c.magenta('hosts unreachable')
          : event.exitCode === DRIFT_EXIT_STATUS
            ? c.yellow('changes pending (--detect-drift)')
            : c.red('failed');
    this.print(`exit ${event.exitCode}: ${verdict}`);
  }

  private statusLabel(status: TaskStatus, checkMode: boolean, uncertain: boolean): string {
    const c = this.#color;
    const word = status === 'changed' && checkMode ? (uncertain ? 'would run' : 'would change') : status;
    const padded = word.padEnd(12);
    switch (status) {
      case 'ok':
        return c.green(padded);
      case 'changed':
        return c.yellow(padded);
      case 'failed':
        return c.red.bold(padded);
      case 'skipped':
        return c.cyan(padded);
      case 'unreachable':
        return c.magenta.bold(padded);
    }
  }

  private updateSpinner(): void {
    if (!this.#spinner) return;
    if (this.#groups) {
      // The grouped view's progress line: hosts that settled the first unfinished task, of the batch's.
      const progress = this.#groups.progress();
      if (!progress || this.#working.size === 0) {
        this.#spinner.stop();
        return;
      }
      const ahead = progress.open > 1 ? ` · ${progress.open - 1} later task(s) under way` : '';
      this.#spinner.text = `${n(progress.task)} [${progress.module}]: ${progress.settled} of ${progress.total} hosts done${ahead}`;
      if (!this.#spinner.isSpinning) this.#spinner.start();
      return;
    }
    if (this.#working.size === 0) {
      this.#spinner.stop();
      return;
    }
    const hosts = [...this.#working.keys()];
    const shown = hosts
      .slice(0, 6)
      .map((host) => `${n(host)} (${n(this.#working.get(host) ?? '')})`)
      .join(', ');
    this.#spinner.text = `working: ${shown}${hosts.length > 6 ? ` and ${hosts.length - 6} more` : ''}`;
    if (!this.#spinner.isSpinning) this.#spinner.start();
  }

  /**
   * Masks text before it is indented or coloured: both change every line, and a multi-line secret (a
   * PEM key) no longer matches once its lines are changed; print() masks again what it is given. Then
   * escapes what a terminal would obey (ESC, CR, BEL, bidirectional overrides): every message, output
   * and diff from a host or a playbook goes through here, so none can repaint the screen or retitle it.
   */
  private mask(text: string): string {
    return printableText(this.options.redactor.redact(text));
  }

  /** Every line goes through the redactor: a secret a command echoed never reaches the screen. */
  private print(text: string): void {
    const spinning = this.#spinner?.isSpinning ?? false;
    if (spinning) this.#spinner?.clear();
    this.options.stream.write(`${this.options.redactor.redact(text)}\n`);
    if (spinning) this.#spinner?.render();
  }
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  // One replace, not split/map/join: a host's output can be megabytes of short lines, and an array of
  // them per host is several times the output's size (issue 8, memory).
  return pad + text.replace(/\n/g, `\n${pad}`);
}

function colourDiff(text: string, c: ChalkInstance): string {
  return text
    .split('\n')
    .map((line) => {
      if (line.startsWith('+') && !line.startsWith('+++')) return c.green(line);
      if (line.startsWith('-') && !line.startsWith('---')) return c.red(line);
      if (line.startsWith('@@')) return c.cyan(line);
      return line;
    })
    .join('\n');
}

/** The terminal's width in columns, or 0 when the stream is not a terminal or does not know it. */
export function terminalWidth(stream: NodeJS.WriteStream | NodeJS.WritableStream): number {
  const columns = (stream as Partial<NodeJS.WriteStream>).columns;
  return typeof columns === 'number' && Number.isFinite(columns) ? columns : 0;
}
