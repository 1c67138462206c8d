/**
 * The audit report as one self-contained HTML page: inline CSS, no script, no external resource (a
 * Content-Security-Policy says so, so even a string that escaped escaping could load nothing). Diffs are
 * collapsed per host group with <details>, which works without JavaScript and in print.
 *
 * Example: `writeFileSync('report.html', renderHtml(buildRunReports(logs)))`.
 */
import { DRIFT_EXIT_STATUS } from '../events.ts';
import { changeWord, type FailureGroup, type HostGroup, type RunReport, type TaskReport } from './audit-report.ts';
import { html } from './escape.ts';
import { compactHosts } from './host-ranges.ts';

export function renderHtml(reports: RunReport[]): string {
  const title = reports.length === 1 ? pageTitle(reports[0]!) : `drover report: ${reports.length} runs`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="drover audit report">
<title>${html(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${reports.map(renderRun).join('\n')}
</body>
</html>
`;
}

function pageTitle(report: RunReport): string {
  const { identity } = report;
  return `drover ${identity.mode ?? 'run'}: ${baseName(identity.playbook?.path ?? identity.runKind ?? report.path)} · ${identity.runId ?? report.path}`;
}

function renderRun(report: RunReport): string {
  const { identity, totals } = report;
  const words = changeWord(identity);
  const badges = [
    badge(
      identity.mode === 'check' ? 'dry run (check)' : identity.mode === 'apply' ? 'apply' : (identity.mode ?? 'unknown mode'),
      identity.mode === 'check' ? 'info' : 'warn',
    ),
    badge(`chain ${report.chain.status}`, report.chain.status === 'intact' ? 'good' : 'bad'),
    // The badge says what; the identity table below says by whom and why.
    badge(SIGNATURE_BADGE[report.signature.status][0], SIGNATURE_BADGE[report.signature.status][1]),
    !identity.closed
      ? badge('no run-end record', 'bad')
      : identity.exitCode === undefined
        ? badge('exit ?', 'bad')
        : badge(
            `exit ${identity.exitCode}${identity.interrupted ? ' (interrupted)' : ''}`,
            identity.exitCode === 0 ? 'good' : identity.exitCode === DRIFT_EXIT_STATUS ? 'warn' : 'bad',
          ),
  ];
  const stats = [
    stat(totals.hosts, 'hosts', ''),
    stat(totals.hostsChanged, `hosts ${words.verb}`, totals.hostsChanged ? 'warn' : ''),
    stat(totals.changed, `changes ${words.adjective}`, totals.changed ? 'warn' : ''),
    stat(totals.failed, 'failed', totals.failed ? 'bad' : ''),
    stat(
      report.unreachable.reduce((sum, group) => sum + group.hosts.length, 0),
      'unreachable',
      report.unreachable.length ? 'bad' : '',
    ),
    stat(totals.ok, 'ok', ''),
    stat(totals.skipped, 'skipped', ''),
  ];
  return `<main class="run">
<header>
<h1>${html(pageTitle(report))}</h1>
<p class="badges">${badges.join(' ')}</p>
${identityTable(report)}
<div class="stats">${stats.join('')}</div>
</header>
${problems(report)}
<div class="layout">
<nav aria-label="tasks"><h2>Tasks</h2><ol>${report.tasks.map((task) => navItem(task, words.verb)).join('')}</ol></nav>
<section class="tasks">${report.tasks.length ? report.tasks.map((task) => taskSection(task, words.verb)).join('\n') : '<p class="muted">The log records no task results.</p>'}</section>
</div>
</main>`;
}

/** Badge text and colour per signature status. */
const SIGNATURE_BADGE: Record<RunReport['signature']['status'], [string, string]> = {
  trusted: ['signed by an allowed key', 'good'],
  unchecked: ['signature matches (signer not checked)', 'info'],
  untrusted: ['signer not allowed', 'bad'],
  bad: ['signature BAD', 'bad'],
  missing: ['unsigned', 'muted'],
};

function identityTable(report: RunReport): string {
  const { identity } = report;
  const rows: Array<[string, string]> = [
    ['operator', code(identity.operator)],
    ['ran from', `${code(identity.controller)}${identity.cwd ? ` in ${code(identity.cwd)}` : ''}`],
    [
      'commit',
      identity.git
        ? `${code(identity.git.commit)}${identity.git.dirty ? ' <span class="bad-text">with uncommitted changes</span>' : ''}`
        : '<span class="muted">not in a git checkout</span>',
    ],
    [
      'playbook',
      identity.playbook ? `${code(identity.playbook.path)}<br><span class="hash">sha256 ${html(identity.playbook.sha256)}</span>` : code(identity.runKind),
    ],
    [
      'inventory',
      identity.inventory
        ? `${code(identity.inventory.path)}<br><span class="hash">sha256 ${html(identity.inventory.sha256)}</span>`
        : '<span class="muted">none</span>',
    ],
    [
      'mode',
      `${html(identity.mode ?? '?')}${identity.diff ? ' with diffs' : ''}${identity.limit ? ` · limit ${code(identity.limit)}` : ''}${identity.tags.length ? ` · tags ${code(identity.tags.join(','))}` : ''}${identity.skipTags.length ? ` · skip tags ${code(identity.skipTags.join(','))}` : ''}`,
    ],
    ['started', code(identity.startedAt)],
    [
      'ended',
      identity.closed
        ? `${code(identity.endedAt)}${identity.durationMs !== undefined ? ` (${html(seconds(identity.durationMs))})` : ''}`
        : '<span class="bad-text">no closing record</span>',
    ],
    ['command', identity.argv ? code(identity.argv.join(' ')) : '<span class="muted">?</span>'],
    ['audit log', `${code(report.path)}${identity.runId ? ` · run ${code(identity.runId)}` : ''}`],
    [
      'chain',
      `<span class="${report.chain.status === 'intact' ? 'good-text' : 'bad-text'}">${html(report.chain.text)}</span>${report.unreadableLines ? ` · ${report.unreadableLines} unreadable line(s)` : ''}`,
    ],
    ['signature', `<span class="${SIGNATURE_BADGE[report.signature.status][1]}-text">${html(report.signature.text)}</span>`],
  ];
  return `<table class="identity">${rows.map(([key, value]) => `<tr><th>${html(key)}</th><td>${value}</td></tr>`).join('')}</table>`;
}

function problems(report: RunReport): string {
  const parts: string[] = [];
  if (report.failures.length) {
    parts.push(`<section class="box bad" id="failures"><h2>Failures</h2>${report.failures.map(failure).join('')}</section>`);
  }
  if (report.unreachable.length) {
    parts.push(
      `<section class="box bad" id="unreachable"><h2>Unreachable hosts</h2>${report.unreachable
        .map(
          (group) =>
            `<div class="item">${hostList(group.hosts)}<p>${html(group.message)}</p>${group.hint ? `<p class="hint">${html(group.hint)}</p>` : ''}</div>`,
        )
        .join('')}</section>`,
    );
  }
  if (report.stops.length || report.warnings.length) {
    parts.push(
      `<section class="box warn"><h2>Stops and warnings</h2><ul>${[...report.stops, ...report.warnings].map((line) => `<li>${html(line)}</li>`).join('')}</ul></section>`,
    );
  }
  return parts.join('\n');
}

function failure(group: FailureGroup): string {
  const command =
    group.command === undefined
      ? ''
      : `<details><summary>command${group.exitCode === undefined ? '' : `, exit ${html(String(group.exitCode))}`}</summary><pre>${html(group.command)}</pre></details>`;
  return `<div class="item">${hostList(group.hosts)} <a href="#${html(group.taskId)}">${html(taskTitle(group))}</a> <span class="module">${html(group.module)}</span>
<pre class="message">${html(group.message)}</pre>${group.hint ? `<p class="hint">${html(group.hint)}</p>` : ''}${group.stderrTail ? `<details open><summary>stderr (tail)</summary><pre>${html(group.stderrTail)}</pre></details>` : ''}${command}</div>`;
}

function navItem(task: TaskReport, verb: string): string {
  const counts = [
    task.failed.length ? `<span class="bad-text">${task.failed.length} failed</span>` : '',
    task.unreachable.length ? `<span class="bad-text">${task.unreachable.length} unreachable</span>` : '',
    task.changed.length ? `<span class="warn-text">${hostCount(task.changed)} ${html(verb)}</span>` : '',
    `<span class="muted">${task.ok.length} ok${task.skipped.length ? ` · ${task.skipped.length} skipped` : ''}</span>`,
  ]
    .filter(Boolean)
    .join(' · ');
  return `<li><a href="#${html(task.id)}">${html(task.name)}</a><br><span class="counts">${counts}</span></li>`;
}

function taskSection(task: TaskReport, verb: string): string {
  const counts = [
    task.changed.length ? `<span class="warn-text">${hostCount(task.changed)} ${html(verb)}</span>` : '',
    task.failed.length ? `<span class="bad-text">${task.failed.length} failed</span>` : '',
    task.ignored.length ? `${task.ignored.length} failed (ignored)` : '',
    task.unreachable.length ? `<span class="bad-text">${task.unreachable.length} unreachable</span>` : '',
    `${task.ok.length} ok`,
    `${task.skipped.length} skipped`,
  ]
    .filter(Boolean)
    .join(' · ');
  const hostLines = [
    task.failed.length ? `<div class="hosts-line"><span class="bad-text">failed:</span> ${hostNames(task.failed)}</div>` : '',
    task.ignored.length ? `<div class="hosts-line">failed, ignored by the playbook: ${hostNames(task.ignored)}</div>` : '',
    task.unreachable.length ? `<div class="hosts-line"><span class="bad-text">unreachable:</span> ${hostNames(task.unreachable)}</div>` : '',
  ].join('');
  return `<article class="task" id="${html(task.id)}">
<h3>${task.handler ? '<span class="module">handler</span> ' : ''}${html(taskTitle(task))} <span class="module">${html(task.module)}</span></h3>
<p class="counts">${counts}</p>${hostLines}
${task.changed.map((group) => changeGroup(group, verb)).join('\n')}
${task.ok.length || task.skipped.length ? `<div class="hosts-line muted">${task.ok.length ? `ok: ${hostNames(task.ok)}` : ''}${task.ok.length && task.skipped.length ? ' · ' : ''}${task.skipped.length ? `skipped: ${hostNames(task.skipped)}` : ''}</div>` : ''}
</article>`;
}

function changeGroup(group: HostGroup, verb: string): string {
  const head = `<span class="count">${group.hosts.length} host${group.hosts.length === 1 ? '' : 's'}</span> ${hostNames(group.hosts)}${group.uncertain ? ' <span class="badge info">would run: drover cannot predict the outcome</span>' : ''}`;
  const lines = `<ul class="changes">${group.lines.map((line) => `<li>${html(line)}</li>`).join('')}</ul>`;
  const diffs = group.diffs.length
    ? `<details><summary>${group.diffs.length === 1 ? 'diff' : `${group.diffs.length} diffs`} (${html(verb)} on ${group.hosts.length} host${group.hosts.length === 1 ? '' : 's'})</summary>${group.diffs.map((diff) => `<pre class="diff">${diffLines(diff)}</pre>`).join('')}</details>`
    : '';
  return `<div class="group">${head}${lines}${diffs}</div>`;
}

function diffLines(diff: string): string {
  return diff
    .split('\n')
    .map((line) => {
      const kind =
        line.startsWith('+++') || line.startsWith('---')
          ? 'file'
          : line.startsWith('+')
            ? 'add'
            : line.startsWith('-')
              ? 'del'
              : line.startsWith('@@')
                ? 'hunk'
                : '';
      // One block per line (joined without newlines, which <pre> would double): added and removed lines are
      // shaded across the whole width.
      return `<span class="${kind || 'ctx'}">${html(line) || ' '}</span>`;
    })
    .join('');
}

function hostList(hosts: string[]): string {
  return `<span class="count">${hosts.length} host${hosts.length === 1 ? '' : 's'}</span> ${hostNames(hosts)}`;
}

/** Longer lists than this (in characters, after folding into ranges) are collapsed behind their count. */
const LONG_HOST_LIST = 160;

function hostNames(hosts: string[]): string {
  const names = compactHosts(hosts);
  const list = names.map((name) => `<code class="host">${html(name)}</code>`).join(' ');
  // A fleet whose hosts do not fold into a few ranges would bury the change under its names.
  if (names.join(' ').length <= LONG_HOST_LIST) return list;
  return `<details class="hosts"><summary>${html(names.join(' ').slice(0, 60))}… (all ${hosts.length})</summary>${list}</details>`;
}

function hostCount(groups: HostGroup[]): number {
  return groups.reduce((sum, group) => sum + group.hosts.length, 0);
}

function taskTitle(task: { play?: string; name?: string; task?: string }): string {
  const name = task.name ?? task.task ?? '?';
  return task.play ? `${task.play} › ${name}` : name;
}

function badge(text: string, kind: string): string {
  return `<span class="badge ${kind}">${html(text)}</span>`;
}

function stat(value: number, label: string, kind: string): string {
  return `<div class="stat ${kind}"><b>${value}</b><span>${html(label)}</span></div>`;
}

function code(text: string | undefined): string {
  return text === undefined ? '<span class="muted">?</span>' : `<code>${html(text)}</code>`;
}

function seconds(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function baseName(path: string): string {
  return path.split('/').pop() || path;
}

const STYLE = `
:root{--bg:#f6f7f9;--fg:#1d232b;--muted:#6a7480;--line:#d9dee5;--card:#fff;--good:#1a7f37;--bad:#c62828;--warn:#9a6700;--info:#0a58ca;--add:#e6ffec;--del:#ffebe9;--hunk:#ddf4ff}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main.run{max-width:1200px;margin:0 auto;padding:24px}
main.run+main.run{border-top:4px solid var(--line)}
h1{font-size:20px;margin:0 0 8px;word-break:break-all}
h2{font-size:16px;margin:0 0 8px}
h3{font-size:15px;margin:0 0 4px;word-break:break-word}
code,pre{font:12.5px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
code{word-break:break-all}
pre{margin:6px 0;padding:8px 10px;background:#f3f4f6;border:1px solid var(--line);border-radius:4px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.badges{margin:0 0 12px}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-size:12px;font-weight:600;border:1px solid currentColor}
.badge.good{color:var(--good)}.badge.bad{color:var(--bad)}.badge.warn{color:var(--warn)}.badge.info{color:var(--info)}.badge.muted{color:var(--muted)}
.good-text{color:var(--good)}.info-text{color:var(--info)}.muted-text{color:var(--muted)}.bad-text{color:var(--bad);font-weight:600}.warn-text{color:var(--warn);font-weight:600}.muted{color:var(--muted)}
table.identity{border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:6px;width:100%;margin-bottom:12px}
table.identity th{text-align:left;vertical-align:top;width:110px;padding:4px 10px;color:var(--muted);font-weight:500;border-bottom:1px solid var(--line)}
table.identity td{padding:4px 10px;border-bottom:1px solid var(--line)}
.hash{color:var(--muted);font:11.5px ui-monospace,"DejaVu Sans Mono",monospace}
.stats{display:flex;flex-wrap:wrap;gap:8px;margin-bottom:16px}
.stat{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:6px 12px;min-width:90px}
.stat b{display:block;font-size:20px}.stat span{color:var(--muted);font-size:12px}
.stat.bad b{color:var(--bad)}.stat.warn b{color:var(--warn)}
.box{background:var(--card);border:1px solid var(--line);border-left:5px solid var(--warn);border-radius:6px;padding:12px 16px;margin-bottom:16px}
.box.bad{border-left-color:var(--bad)}
.box .item{padding:8px 0;border-top:1px solid var(--line)}
.box .item:first-of-type{border-top:0}
.hint{margin:4px 0;color:var(--info)}
.layout{display:grid;grid-template-columns:240px 1fr;gap:16px;align-items:start}
nav{position:sticky;top:12px;background:var(--card);border:1px solid var(--line);border-radius:6px;padding:12px;max-height:calc(100vh - 24px);overflow:auto}
nav ol{margin:0;padding-left:20px}nav li{margin:0 0 6px;word-break:break-word}
nav a{color:var(--fg);text-decoration:none}nav a:hover{text-decoration:underline}
.counts{font-size:12px}
.task{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:12px 16px;margin-bottom:12px}
.module{font-size:11px;font-weight:500;color:var(--muted);border:1px solid var(--line);border-radius:4px;padding:0 5px;vertical-align:middle}
.group{border-left:3px solid var(--warn);padding:4px 0 4px 10px;margin:8px 0}
.count{font-weight:700}
code.host{background:#eef1f5;border-radius:3px;padding:0 4px}
ul.changes{margin:4px 0;padding-left:20px}
details summary{cursor:pointer;color:var(--info);margin:2px 0}
details.hosts{display:inline-block;vertical-align:top;max-width:100%}details.hosts summary{font:12.5px ui-monospace,"DejaVu Sans Mono",monospace}details.hosts code.host{word-break:break-all}
pre.diff span{display:block}pre.diff .add{background:var(--add)}pre.diff .del{background:var(--del)}pre.diff .hunk{background:var(--hunk);color:var(--muted)}pre.diff .file{font-weight:700}
.hosts-line{margin:4px 0;font-size:13px}
@media (max-width:800px){.layout{grid-template-columns:1fr}nav{position:static;max-height:none}}
@media print{nav{display:none}.layout{display:block}details{display:block}}
`;
