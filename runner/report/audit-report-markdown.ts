/**
 * The audit report as GitHub-flavoured Markdown for a pull request or a change ticket: the same content as
 * the HTML page, with each group's diffs in a ```diff block inside <details>. Every value from the log is
 * escaped (escape.ts): a host or task name cannot inject a link, an image, HTML or a table break.
 *
 * Example: `writeFileSync('report.md', renderMarkdown(buildRunReports(logs)))`.
 */
import { changeWord, type HostGroup, type RunReport, type TaskReport } from './audit-report.ts';
import { fencedBlock, html, markdown as md } from './escape.ts';
import { compactHosts } from './host-ranges.ts';

export function renderMarkdown(reports: RunReport[]): string {
  return `${reports.map(renderRun).join('\n\n---\n\n')}\n`;
}

function renderRun(report: RunReport): string {
  const { identity, totals } = report;
  const words = changeWord(identity);
  const out: string[] = [];
  const what = identity.playbook?.path.split('/').pop() ?? identity.runKind ?? report.path;
  out.push(`## drover ${md(identity.mode ?? 'run')}: ${md(what)}${identity.runId ? ` · ${md(identity.runId)}` : ''}`);
  out.push('');
  out.push(
    `**${md(identity.mode === 'check' ? 'dry run (check)' : (identity.mode ?? 'unknown mode'))}** · chain **${md(report.chain.status)}** · ${report.signature.status === 'bad' || report.signature.status === 'untrusted' ? `**${md(report.signature.text)}**` : md(report.signature.text)} · ${
      !identity.closed
        ? '**no run-end record**'
        : identity.exitCode === undefined
          ? 'exit ?'
          : `exit ${identity.exitCode}${identity.interrupted ? ' (interrupted)' : ''}`
    }`,
  );
  out.push('');
  out.push(
    `${totals.hosts} hosts · **${totals.hostsChanged} ${md(words.verb)}** (${totals.changed} changes ${md(words.adjective)}) · ${totals.failed ? `**${totals.failed} failed**` : '0 failed'} · ${
      report.unreachable.length ? `**${report.unreachable.reduce((sum, group) => sum + group.hosts.length, 0)} unreachable**` : '0 unreachable'
    } · ${totals.ok} ok · ${totals.skipped} skipped`,
  );
  out.push('');
  const row = (key: string, value: string) => out.push(`| ${key} | ${value} |`);
  out.push('| | |', '| --- | --- |');
  row('operator', val(identity.operator));
  row('ran from', `${val(identity.controller)}${identity.cwd ? ` in ${md(identity.cwd)}` : ''}`);
  row('commit', identity.git ? `${md(identity.git.commit)}${identity.git.dirty ? ' **with uncommitted changes**' : ''}` : 'not in a git checkout');
  row('playbook', identity.playbook ? `${md(identity.playbook.path)} (sha256 ${md(identity.playbook.sha256)})` : val(identity.runKind));
  row('inventory', identity.inventory ? `${md(identity.inventory.path)} (sha256 ${md(identity.inventory.sha256)})` : 'none');
  row(
    'mode',
    `${val(identity.mode)}${identity.diff ? ' with diffs' : ''}${identity.limit ? ` · limit ${md(identity.limit)}` : ''}${identity.tags.length ? ` · tags ${md(identity.tags.join(','))}` : ''}`,
  );
  row('started', val(identity.startedAt));
  row(
    'ended',
    identity.closed
      ? `${val(identity.endedAt)}${identity.durationMs !== undefined ? ` (${(identity.durationMs / 1000).toFixed(1)} s)` : ''}`
      : '**no closing record**',
  );
  row('command', identity.argv ? md(identity.argv.join(' ')) : '?');
  row('audit log', `${md(report.path)}${identity.runId ? ` · run ${md(identity.runId)}` : ''}`);
  row('chain', `${md(report.chain.text)}${report.unreadableLines ? ` · ${report.unreadableLines} unreadable line(s)` : ''}`);
  row('signature', md(report.signature.text));
  out.push('');

  if (report.failures.length) {
    out.push('### Failures', '');
    for (const group of report.failures) {
      out.push(
        `- ${hostHead(group.hosts)} — ${md(title(group.play, group.task))} (${md(group.module)}): ${md(group.message)}${group.hint ? ` — _${md(group.hint)}_` : ''}`,
      );
      if (group.stderrTail) out.push(...details('stderr (tail)', fencedBlock(group.stderrTail), '  '));
      if (group.command !== undefined)
        out.push(...details(`command${group.exitCode === undefined ? '' : `, exit ${String(group.exitCode)}`}`, fencedBlock(group.command, 'sh'), '  '));
    }
    out.push('');
  }
  if (report.unreachable.length) {
    out.push('### Unreachable hosts', '');
    for (const group of report.unreachable) out.push(`- ${hostHead(group.hosts)}: ${md(group.message)}${group.hint ? ` — _${md(group.hint)}_` : ''}`);
    out.push('');
  }
  if (report.stops.length || report.warnings.length) {
    out.push('### Stops and warnings', '');
    for (const line of [...report.stops, ...report.warnings]) out.push(`- ${md(line)}`);
    out.push('');
  }

  out.push('### Tasks', '');
  if (report.tasks.length === 0) out.push('The log records no task results.');
  for (const [index, task] of report.tasks.entries()) out.push(...taskLines(task, index + 1, words.verb));
  return out.join('\n').trimEnd();
}

function taskLines(task: TaskReport, number: number, verb: string): string[] {
  const counts = [
    task.changed.length ? `**${task.changed.reduce((sum, group) => sum + group.hosts.length, 0)} ${md(verb)}**` : '',
    task.failed.length ? `**${task.failed.length} failed** (${hosts(task.failed)})` : '',
    task.ignored.length ? `${task.ignored.length} failed, ignored (${hosts(task.ignored)})` : '',
    task.unreachable.length ? `**${task.unreachable.length} unreachable** (${hosts(task.unreachable)})` : '',
    `${task.ok.length} ok`,
    `${task.skipped.length} skipped`,
  ]
    .filter(Boolean)
    .join(' · ');
  const out = [`#### ${number}. ${task.handler ? 'handler: ' : ''}${md(title(task.play, task.name))} (${md(task.module)})`, '', counts, ''];
  for (const group of task.changed) out.push(...groupLines(group, verb));
  if (task.changed.length) out.push('');
  return out;
}

function groupLines(group: HostGroup, verb: string): string[] {
  const out = [`- ${hostHead(group.hosts)}: ${group.lines.map(md).join('; ')}${group.uncertain ? ' _(would run: drover cannot predict the outcome)_' : ''}`];
  if (group.diffs.length) {
    out.push(
      ...details(
        `${group.diffs.length === 1 ? 'diff' : `${group.diffs.length} diffs`} (${verb} on ${group.hosts.length} host${group.hosts.length === 1 ? '' : 's'})`,
        group.diffs.map((diff) => fencedBlock(diff, 'diff')).join('\n\n'),
        '  ',
      ),
    );
  }
  return out;
}

/** A <details> block inside a list item; the blank lines let GitHub render the fenced block inside it. */
function details(summary: string, body: string, indent: string): string[] {
  return [
    '',
    `${indent}<details><summary>${html(summary)}</summary>`,
    '',
    ...body.split('\n').map((line) => (line ? `${indent}${line}` : line)),
    '',
    `${indent}</details>`,
    '',
  ];
}

function hostHead(list: string[]): string {
  return `**${list.length} host${list.length === 1 ? '' : 's'}** ${hosts(list)}`;
}

function hosts(list: string[]): string {
  return compactHosts(list).map(md).join(', ');
}

function title(play: string | undefined, name: string): string {
  return play ? `${play} › ${name}` : name;
}

function val(text: string | undefined): string {
  return text === undefined ? '?' : md(text);
}
