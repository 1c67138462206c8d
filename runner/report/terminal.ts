/**
 * The terminal reporter: a line per task result, coloured by status, diffs under --diff, a spinner that
 * names the hosts still working, and a recap per host. Without a terminal (CI, pipes) it prints the same
 * lines without colour codes or spinner.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import ora, { type Ora } from 'ora';
import { DRIFT_EXIT_STATUS, type Reporter, type StampedEvent } from '../events.ts';
import type { TaskResult, TaskStatus } from '../result.ts';
import type { Redactor } from '../secret.ts';
import { printable as n } from '../printable.ts';
import { renderDiff } from './diff.ts';

export interface TerminalOptions {
  stream: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Colours and spinner; default: whether the stream is a terminal. */
  interactive: boolean;
  showDiff: boolean;
  /** Print every command sent (-v). */
  verbose: boolean;
  /** -v count: 2 (-vv) also prints each command's output; default 1 when `verbose`, else 0. */
  verbosity?: number;
  redactor: Redactor;
}

export class TerminalReporter implements Reporter {
  readonly #color: ChalkInstance;
  readonly #spinner: Ora | undefined;
  /** host → task it is working on, for the spinner text. */
  readonly #working = new Map<string, string>();

  constructor(private readonly options: TerminalOptions) {
    this.#color = new Chalk({ level: options.interactive ? 1 : 0 });
    // A terminal that reports no width (a pty nobody sized, as some CI runners and `script` give) would
    // make ora divide by zero and loop forever clearing lines: such a terminal gets colours, no spinner.
    this.#spinner =
      options.interactive && terminalWidth(options.stream) > 0
        ? ora({ stream: options.stream as NodeJS.WriteStream, isEnabled: true, discardStdin: false })
        : undefined;
  }

  handle(event: StampedEvent): void {
    const c = this.#color;
    switch (event.kind) {
      case 'run-start': {
        const what = event.info.playbook?.path ?? event.info.runKind;
        const mode = event.info.mode === 'check' ? c.cyan('check (dry run: nothing is changed)') : 'apply';
        this.print(`${c.bold('drover')} ${mode}: ${what} on ${event.hosts.length} host(s) · run ${event.runId}`);
        return;
      }
      case 'play-start':
        this.print(
          `\n${c.bold(`PLAY ${event.play}`)}${event.batches > 1 ? ` (batch ${event.batch}/${event.batches})` : ''} · ${event.hosts.map(n).join(', ')}`,
        );
        return;
      case 'task-start':
        this.#working.set(event.host, event.task);
        this.updateSpinner();
        return;
      case 'task-result': {
        this.#working.delete(event.result.host);
        // A task the tags left out is not news: hundreds of such lines would bury the few that ran (-v shows them).
        const quiet = (event.byTags === true && !this.options.verbose) || (event.result.verbosity ?? 0) > this.verbosity();
        if (!quiet && (!event.echoed || event.result.status === 'unreachable')) this.printResult(event.result, event.handler, event.ignored === true);
        this.updateSpinner();
        return;
      }
      case 'task-retry': {
        const next = event.delaySeconds > 0 ? `; again in ${event.delaySeconds} s` : '; again now';
        const line = `  ${c.yellow('retry'.padEnd(12))} ${c.bold(n(event.host))}  ${event.task} ${c.dim(`[${event.module}]`)} attempt ${event.attempt}/${event.attempts} ${event.status}${next}`;
        this.print(line);
        if (this.options.verbose) this.print(c.dim(indent(this.mask(event.msg), 6)));
        return;
      }
      case 'trace':
        this.print(
          c.dim(
            `  ${'v'.repeat(event.level)} ${n(event.host)}: ${event.message}${event.detail?.trim() ? `\n${indent(this.mask(event.detail).trimEnd(), 6)}` : ''}`,
          ),
        );
        return;
      case 'host-output':
        this.printOutput(event.host, event.exitCode, event.stdout, event.stderr);
        return;
      case 'host-unreachable':
        this.print(c.magenta(`  UNREACHABLE ${n(event.host)}: ${event.message}${event.hint ? `\n    hint: ${event.hint}` : ''}`));
        return;
      case 'warning':
        this.print(c.yellow(`  warning${event.host ? ` (${n(event.host)})` : ''}: ${event.message}`));
        return;
      case 'stopping':
        this.print(c.red.bold(`\n  STOPPING (${event.reason}): ${event.message}`));
        return;
      case 'play-end':
        return;
      case 'run-end':
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
    const condition = result.condition ? c.dim(` (${result.condition})`) : '';
    const via = result.delegatedTo ? c.cyan(` → ${n(result.delegatedTo)}`) : '';
    this.print(
      `  ${status} ${c.bold(n(result.host))}${via}  ${label} ${c.dim(`[${result.module}]`)}${detail}${attempts}${condition}${override}${ignored ? c.yellow(' (ignored: ignoreErrors)') : ''}`,
    );
    if (result.status === 'changed') {
      for (const change of result.changes) this.print(`      ${result.checkMode ? 'would ' : ''}${change}`);
      if (this.options.showDiff) {
        for (const diff of result.diffs) this.print(indent(colourDiff(renderDiff(diff), c), 6));
      }
      if (result.checkMode && result.uncertain) {
        for (const command of result.commands) this.print(c.dim(indent(`$ ${command.display}`, 6)));
      }
    }
    if (this.options.verbose) {
      const outputs = (this.options.verbosity ?? 1) >= 2;
      for (const command of result.commands) {
        this.print(c.dim(indent(`$ ${command.display}${command.executed ? ` → ${command.exitCode}` : ' (not run)'}`, 6)));
        // -vv: what the command answered (masked before it is indented, like every output).
        if (outputs && command.executed) {
          if (command.stdout.trim()) this.print(c.dim(indent(this.mask(command.stdout).trimEnd(), 8)));
          if (command.stderr.trim()) this.print(c.red(indent(this.mask(command.stderr).trimEnd(), 8)));
        }
      }
    }
    if (result.status === 'failed' || result.status === 'unreachable') {
      this.print(c.red(indent(this.mask(result.msg), 6)));
      if (result.failure?.hint) this.print(c.yellow(indent(`hint: ${result.failure.hint}`, 6)));
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
    const width = Math.max(4, ...event.recap.map((line) => n(line.host).length));
    for (const line of event.recap) {
      const paint = line.failed > 0 ? c.red : line.unreachable > 0 ? c.magenta : line.changed > 0 ? c.yellow : c.green;
      const counts = `ok=${line.ok} changed=${line.changed} failed=${line.failed} skipped=${line.skipped} unreachable=${line.unreachable} ignored=${line.ignored}${line.rescued ? ` rescued=${line.rescued}` : ''}`;
      this.print(`  ${paint(n(line.host).padEnd(width))} : ${counts}${line.notRun ? c.dim(' (stopped before finishing)') : ''}`);
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
   * PEM key) no longer matches once its lines are changed; print() masks again what it is given.
   */
  private mask(text: string): string {
    return this.options.redactor.redact(text);
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
