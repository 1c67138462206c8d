import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify, stripVTControlCharacters } from 'node:util';
import { parseCommonOptions, UsageError } from '../../../runner/cli/options.ts';
import type { RecapLine, RunEvent, StampedEvent } from '../../../runner/events.ts';
import type { TaskResult } from '../../../runner/result.ts';
import { type HostView, TerminalReporter } from '../../../runner/report/terminal.ts';
import { Redactor } from '../../../runner/secret.ts';
import { taskResult } from '../../support/task-result.ts';

const nodes = (count: number) => Array.from({ length: count }, (_, index) => `node${String(index + 1).padStart(2, '0')}`);

function render(events: RunEvent[], options: { hostView?: HostView; verbosity?: number; showDiff?: boolean } = {}): string {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const verbosity = options.verbosity ?? 0;
  const reporter = new TerminalReporter({
    stream,
    interactive: false,
    showDiff: options.showDiff ?? false,
    verbose: verbosity > 0,
    verbosity,
    redactor: new Redactor(),
    hostView: options.hostView,
  });
  for (const event of events) reporter.handle({ ...event, runId: 'r', time: 't' } as StampedEvent);
  return text;
}

const runStart = (hosts: string[], mode: 'apply' | 'check' = 'apply'): RunEvent => ({
  kind: 'run-start',
  info: { operator: 'o', controller: 'c', argv: [], cwd: '/', runKind: 'playbook', playbook: { path: 'site.ts', sha256: 'x' }, inventory: null, mode, diff: false },
  hosts,
});
const recapLine = (host: string, fields: Partial<RecapLine> = {}): RecapLine => ({ host, ok: 1, changed: 1, failed: 0, skipped: 0, unreachable: 0, ignored: 0, notRun: false, ...fields });
const result = (fields: Partial<TaskResult> & { host: string }): RunEvent => ({ kind: 'task-result', handler: false, params: {}, result: taskResult(fields.host, fields.task ?? 'write config', fields) });
const changed = (host: string, change = 'write /etc/app.conf', check = false, task = 'write config'): RunEvent =>
  result({ host, task, status: 'changed', changed: true, checkMode: check, changes: [change], diffs: [{ kind: 'value', name: 'mode', before: '0644', after: '0600' }] });

/** One play, one task on every host: node07 fails (with a hint), node12 is already right, the rest change. */
function fleet(count: number, mode: 'apply' | 'check' = 'apply'): RunEvent[] {
  const hosts = nodes(count);
  return [
    runStart(hosts, mode),
    { kind: 'play-start', play: 'prepare', hosts, batch: 1, batches: 1 },
    ...hosts.map((host): RunEvent => ({ kind: 'task-start', host, task: 'write config', module: 'copy' })),
    ...hosts.map((host) =>
      host === 'node07'
        ? result({ host, status: 'failed', msg: 'cannot write /etc/app.conf: No space left on device', failure: { kind: 'command-failed', hint: 'free space on /etc' } })
        : host === 'node12'
          ? result({ host })
          : changed(host, 'write /etc/app.conf', mode === 'check'),
    ),
    { kind: 'play-end', play: 'prepare' },
    {
      kind: 'run-end',
      recap: hosts.map((host) => recapLine(host, host === 'node07' ? { changed: 0, failed: 1, ok: 0 } : host === 'node12' ? { changed: 0 } : {})),
      exitCode: 2,
      interrupted: false,
      durationMs: 1234,
    },
  ];
}

describe('report/terminal: the grouped view', () => {
  it('prints a task as one line of counts, identical changes once with their hosts as ranges, a failure in full, the recap merged', () => {
    expect(render(fleet(12), { showDiff: true }).split('\n')).to.deep.equal([
      'drover apply: site.ts on 12 host(s) · run r',
      '',
      'PLAY prepare · node[01:12] (12 hosts)',
      '  write config [copy]  ok 1 · changed 10 · failed 1',
      '    changed node[01:06,08:11] (10 hosts)',
      '      write /etc/app.conf',
      '      mode: "0644" → "0600"',
      '  failed       node07  write config [copy]',
      '      cannot write /etc/app.conf: No space left on device',
      '      hint: free space on /etc',
      '',
      'RECAP (1.2 s)',
      '  node[01:06,08:11] : ok=1 changed=1 failed=0 skipped=0 unreachable=0 ignored=0 · 10 hosts',
      '  node07            : ok=0 changed=0 failed=1 skipped=0 unreachable=0 ignored=0',
      '  node12            : ok=1 changed=0 failed=0 skipped=0 unreachable=0 ignored=0',
      'exit 2: failed',
      '',
    ]);
  });

  it('says "would change" in a dry run and keeps different changes apart', () => {
    const events = fleet(12, 'check').map((event) => (event.kind === 'task-result' && event.result.host === 'node03' ? changed('node03', 'write /etc/app.conf (mode 0600)', true) : event));
    expect(render(events)).to.include(
      [
        '  write config [copy]  ok 1 · would change 10 · failed 1',
        '    would change node[01:02,04:06,08:11] (9 hosts)',
        '      would write /etc/app.conf',
        '    would change node03',
        '      would write /etc/app.conf (mode 0600)',
        '  failed       node07  write config [copy]',
      ].join('\n'),
    );
  });

  it('counts the dry run\'s uncertain predictions as "would run", as their lines say', () => {
    const events = fleet(12, 'check').map((event) =>
      event.kind === 'task-result' && ['node03', 'node04'].includes(event.result.host)
        ? result({ host: event.result.host, status: 'changed', changed: true, checkMode: true, uncertain: true, changes: ['would run: systemctl restart app'] })
        : event,
    );
    const text = render(events);
    expect(text).to.include('  write config [copy]  ok 1 · would change 8 · would run 2 · failed 1\n');
    expect(text).to.include('    would run node[03:04] (2 hosts)\n');
  });

  it('prints a task only once every host settled it, in the order the tasks were first seen', () => {
    const hosts = nodes(6);
    const events: RunEvent[] = [runStart(hosts), { kind: 'play-start', play: 'p', hosts, batch: 1, batches: 1 }];
    for (const host of hosts.slice(0, 5)) events.push(result({ host, task: 'first' }));
    // node06 is slow: the hosts already done with "first" go on with "second".
    for (const host of hosts.slice(0, 5)) events.push(result({ host, task: 'second' }));
    const early = render(events);
    expect(early).not.to.include('first');
    events.push(result({ host: 'node06', task: 'first' }));
    const later = render(events);
    expect(later).to.include('  first [copy]  ok 6\n').and.not.include('second');
    events.push(result({ host: 'node06', task: 'second', status: 'unreachable', msg: 'node06: connection reset' }));
    expect(render(events)).to.match(/ {2}first \[copy\] {2}ok 6\n {2}second \[copy\] {2}ok 5 · unreachable 1\n {2}unreachable +node06 {2}second \[copy\]\n {6}node06: connection reset\n$/);
  });

  it('merges skip reasons and debug messages; leaves out what the tags skipped; marks handlers and ignored failures', () => {
    const hosts = nodes(6);
    const events: RunEvent[] = [runStart(hosts), { kind: 'play-start', play: 'p', hosts, batch: 1, batches: 1 }];
    for (const host of hosts) events.push(result({ host, task: 'workers only', status: 'skipped', msg: 'not a worker' }));
    for (const host of hosts) events.push({ ...(result({ host, task: 'tagged', status: 'skipped', msg: 'skipped by tags' }) as object), byTags: true } as RunEvent);
    for (const host of hosts) events.push(result({ host, task: 'say', module: 'debug', msg: host === 'node03' ? 'version 2' : 'version 1' }));
    for (const host of hosts) events.push({ ...(result({ host, task: 'probe', status: host === 'node02' ? 'failed' : 'ok', msg: 'port closed' }) as object), ignored: host === 'node02' } as RunEvent);
    for (const host of hosts) events.push({ ...(changed(host, 'restart app') as object), handler: true } as RunEvent);
    events.push({ kind: 'play-end', play: 'p' });
    const text = render(events);
    expect(text).to.include('  workers only [copy]  skipped 6\n    skipped node[01:06] (6 hosts): not a worker\n');
    expect(text).not.to.include('tagged');
    expect(text).to.include('  say [debug]  ok 6\n    ok node[01:02,04:06] (5 hosts): version 1\n    ok node03: version 2\n');
    expect(text).to.include('  probe [copy]  ok 5 · ignored 1\n  failed       node02  probe [copy] (ignored: ignoreErrors)\n      port closed\n');
    expect(text).to.include('  handler: write config [copy]  changed 6\n    changed node[01:06] (6 hosts)\n      restart app\n');
  });

  it('says where a delegated task ran: its hosts, then → the host it changed, merged only with others sending it there', () => {
    const hosts = nodes(6);
    const events: RunEvent[] = [runStart(hosts), { kind: 'play-start', play: 'p', hosts, batch: 1, batches: 1 }];
    const delegatedTo = (host: string) => (host === 'node06' ? 'lb2' : 'lb1');
    for (const host of hosts) events.push(result({ host, task: 'drain', status: 'changed', changed: true, changes: ['drain backend'], delegatedTo: delegatedTo(host) }));
    for (const host of hosts) events.push(result({ host, task: 'note', module: 'debug', msg: 'drained', delegatedTo: 'lb1' }));
    events.push({ kind: 'play-end', play: 'p' });
    const text = render(events);
    expect(text).to.include('  drain [copy]  changed 6\n    changed node[01:05] (5 hosts) → lb1\n      drain backend\n    changed node06 → lb2\n      drain backend\n');
    expect(text).to.include('  note [debug]  ok 6\n    ok node[01:06] (6 hosts) → lb1: drained\n');
  });

  it('notes which hosts retried a task instead of a line per host per attempt', () => {
    const hosts = nodes(6);
    const events: RunEvent[] = [runStart(hosts), { kind: 'play-start', play: 'p', hosts, batch: 1, batches: 1 }];
    for (const host of ['node02', 'node03', 'node02']) events.push({ kind: 'task-retry', host, task: 'wait for api', module: 'waitFor', attempt: 1, attempts: 3, delaySeconds: 5, status: 'failed', msg: 'refused' });
    for (const host of hosts)
      events.push(
        host === 'node03' ? result({ host, task: 'wait for api', module: 'waitFor', status: 'failed', msg: 'port 6443 refused', attempts: 3 }) : result({ host, task: 'wait for api', module: 'waitFor', attempts: host === 'node02' ? 3 : 1 }),
      );
    events.push({ kind: 'play-end', play: 'p' });
    const text = render(events);
    expect(text).not.to.include('attempt 1/3');
    expect(text).to.include('  wait for api [waitFor]  ok 5 · failed 1\n    retried node[02:03] (2 hosts)\n  failed       node03  wait for api [waitFor] after 3 attempts\n      port 6443 refused\n');
    // The per-host view still prints each attempt.
    expect(render(events, { hostView: 'per-host' })).to.match(/^ {2}retry +node02 {2}wait for api \[waitFor\] attempt 1\/3 failed; again in 5 s$/m);
  });

  it('prints a warning that every host got once, with its hosts, when the batch ends', () => {
    const hosts = nodes(6);
    const message = 'task "write config" notified "restart app", which no handler of play "p" is named or listens to';
    const events: RunEvent[] = [runStart(hosts), { kind: 'play-start', play: 'p', hosts, batch: 1, batches: 1 }];
    for (const host of hosts) events.push(changed(host), { kind: 'warning', host, message });
    events.push({ kind: 'warning', host: 'node04', message: 'node04 ran its notified handlers first' });
    events.push({ kind: 'play-end', play: 'p' });
    const text = render(events);
    expect(text).to.include(`  warning (node[01:06], 6 hosts): ${message}\n  warning (node04): node04 ran its notified handlers first\n`);
    expect(text.indexOf('warning')).to.be.above(text.indexOf('write config [copy]  changed 6'));
    expect(render(events, { hostView: 'per-host' }).match(/warning \(node\d+\): task/g)).to.have.length(6);
  });

  it('keeps hostile host and task names to one escaped line each, in ranges and the recap too', () => {
    const hosts = ['evil\nfake-host : ok=9', 'esc\x1b[2J', 'cr\rover', 'n1', 'n2', 'n3'];
    const events: RunEvent[] = [runStart(hosts), { kind: 'play-start', play: 'p', hosts, batch: 1, batches: 1 }];
    for (const host of hosts) events.push(result({ host, task: 'two\nlines', status: host === 'n3' ? 'failed' : 'skipped', msg: 'why' }));
    events.push({ kind: 'run-end', recap: hosts.map((host) => recapLine(host)), exitCode: 0, interrupted: false, durationMs: 1 });
    const text = render(events);
    expect(text).not.to.match(/[\x1b\r]/);
    expect(text.split('\n').filter((line) => line.includes('fake-host'))).to.have.length(3);
    expect(text).to.include('  two\\nlines [copy]  failed 1 · skipped 5\n');
    expect(text).to.include('cr\\rover,esc\\e[2J,evil\\nfake-host : ok=9,n[1:3] : ok=1 changed=1');
  });

  it('groups an ad-hoc run (no plays): the output each host printed as it came, then the task once', () => {
    const hosts = nodes(7);
    const events: RunEvent[] = [runStart(hosts)];
    for (const host of hosts) {
      const status = host === 'node04' ? 'failed' : 'ok';
      events.push({ kind: 'host-output', host, exitCode: status === 'ok' ? 0 : 1, stdout: `up on ${host}\n`, stderr: '' });
      events.push({ ...(result({ host, task: 'uptime', module: 'command', status, msg: 'exit 1' }) as object), echoed: true } as RunEvent);
    }
    events.push({ kind: 'run-end', recap: hosts.map((host) => recapLine(host, { changed: 0 })), exitCode: 2, interrupted: false, durationMs: 10 });
    const text = render(events);
    expect(text).to.include('node04 | rc=1\n  up on node04\n');
    expect(text).to.include('  uptime [command]  ok 6 · failed 1\n\nRECAP');
    expect(text).to.include('  node[01:07] : ok=1 changed=0 failed=0 skipped=0 unreachable=0 ignored=0 · 7 hosts\n');
  });
});

describe('report/terminal: the grouped view at 500 hosts', function () {
  this.timeout(120_000);

  it('prints a line per task however many hosts, and the failures in full', () => {
    const hosts = Array.from({ length: 500 }, (_, index) => `node${String(index + 1).padStart(3, '0')}`);
    const tasks = Array.from({ length: 30 }, (_, index) => `task ${index + 1}`);
    const events: RunEvent[] = [runStart(hosts), { kind: 'play-start', play: 'fleet', hosts, batch: 1, batches: 1 }];
    // Hosts report in an order that is not their names' (as a loaded controller sees them): every 7th first.
    const order = [...hosts].sort((a, b) => (Number(a.slice(4)) % 7) - (Number(b.slice(4)) % 7) || a.localeCompare(b));
    for (const task of tasks) {
      for (const host of order) events.push({ kind: 'task-start', host, task, module: 'copy' });
      for (const host of order) {
        if (task === 'task 30' && host === 'node250') events.push(result({ host, task, status: 'failed', msg: 'node250 refused' }));
        else if (task === 'task 30') events.push(changed(host, 'write /etc/app.conf', false, task));
        else events.push(result({ host, task }));
      }
    }
    events.push({ kind: 'play-end', play: 'fleet' });
    events.push({ kind: 'run-end', recap: hosts.map((host) => recapLine(host, { ok: 29, failed: host === 'node250' ? 1 : 0, changed: host === 'node250' ? 0 : 1 })), exitCode: 2, interrupted: false, durationMs: 1 });
    const started = process.hrtime.bigint();
    const text = render(events);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const lines = text.trimEnd().split('\n');
    console.log(`      500 hosts × 30 tasks: ${events.length} events rendered in ${ms.toFixed(0)} ms, ${lines.length} lines (per host: ${render(events, { hostView: 'per-host' }).trimEnd().split('\n').length})`);
    expect(lines.filter((line) => /^ {2}task \d+ \[copy\] {2}ok 500$/.test(line))).to.have.length(29);
    expect(text).to.include('  task 30 [copy]  changed 499 · failed 1\n    changed node[001:249,251:500] (499 hosts)\n      write /etc/app.conf\n  failed       node250  task 30 [copy]\n      node250 refused\n');
    expect(text).to.match(/^ {2}node\[001:249,251:500\] : ok=29 changed=1 failed=0 skipped=0 unreachable=0 ignored=0 · 499 hosts\n {2}node250 +: ok=29 changed=0 failed=1/m);
    expect(lines.length).to.be.below(50);
  });
});

describe('report/terminal: which view', () => {
  const perHostLine = /^ {2}changed +node01 {2}write config \[copy\]$/m;
  const groupedLine = /^ {2}write config \[copy\] {2}ok 1 · changed \d+ · failed 1$/m;

  it('is per host up to 5 hosts and grouped beyond, unless a flag says otherwise', () => {
    // Five hosts: the same events restricted to node01..node05 (node07's failure and node12 are not among them).
    const small = render(
      fleet(12)
        .filter((event) => !('result' in event) || ['node01', 'node02', 'node03', 'node04', 'node05'].includes(event.result.host))
        .map((event) => (event.kind === 'run-start' || event.kind === 'play-start' ? { ...event, hosts: nodes(5) } : event)),
    );
    expect(small).to.match(perHostLine).and.include('PLAY prepare · node01, node02, node03, node04, node05');
    expect(render(fleet(12)))
      .to.match(groupedLine)
      .and.not.match(perHostLine);
    expect(render(fleet(12), { hostView: 'per-host' }))
      .to.match(perHostLine)
      .and.match(/^ {2}node12 +: ok=1/m);
    expect(render(fleet(12), { verbosity: 1 })).to.match(perHostLine);
    expect(render(fleet(2), { hostView: 'grouped' })).to.match(/^ {2}write config \[copy\] {2}changed 2\n {4}changed node\[01:02\] \(2 hosts\)$/m);
  });

  it('takes --per-host and --grouped, one at a time, and --grouped not with -v', () => {
    expect(parseCommonOptions(['--per-host']).options.hostView).to.equal('per-host');
    expect(parseCommonOptions(['--grouped']).options.hostView).to.equal('grouped');
    expect(parseCommonOptions([]).options.hostView).to.equal('auto');
    expect(() => parseCommonOptions(['--per-host', '--grouped'])).to.throw(UsageError, /cannot be used together/);
    expect(() => parseCommonOptions(['--grouped', '-v'])).to.throw(UsageError, /use one or the other/);
  });
});

describe('report/terminal: the grouped view on a terminal', function () {
  this.timeout(30_000);
  const FIXTURE = resolve(import.meta.dirname, '../../fixtures/report/terminal-progress.ts');

  it('redraws a progress line (hosts done of the total for the task that runs) and clears it before each printed line', async () => {
    const written = await promisify(execFile)(process.execPath, ['--import', 'tsx', FIXTURE], { timeout: 20_000, cwd: join(import.meta.dirname, '../../..') });
    const stdout = stripVTControlCharacters(written.stdout);
    // Redrawn in place: the spinner's frames move the cursor back and clear the line.
    expect(stdout).to.include('write config [copy]: 3 of 8 hosts done');
    expect(stdout).to.include('write config [copy]: 7 of 8 hosts done');
    // Frames follow each other on one line (the fake terminal's cursor moves are calls, not bytes): no newline between them.
    expect(stdout).to.match(/1 of 8 hosts done[^\n]*2 of 8 hosts done[^\n]*7 of 8 hosts done/);
    expect(stdout).to.include('write config [copy]  ok 8');
  });
});
