/**
 * `audit report` from fixture audit logs (chained with the real sealing code): host ranges as a table,
 * grouping of identical changes, failures first, escaping of hostile names and output in HTML and Markdown,
 * from fixture logs. The CLI (chain and signature verdicts, exit statuses) is test/cli/audit-report.e2e.test.ts.
 */
import { expect } from 'chai';
import { describeVerdict, verifyChain } from '../../../runner/audit/chain.ts';
import { buildRunReports, type AuditLogInput } from '../../../runner/report/audit-report.ts';
import { renderHtml } from '../../../runner/report/audit-report-html.ts';
import { renderMarkdown } from '../../../runner/report/audit-report-markdown.ts';
import { compactHosts } from '../../../runner/report/host-ranges.ts';
import { chainedLog, end, fleetLog, forward, nodes, RUN, start, task, time } from '../../support/audit-log-fixture.ts';

function input(text: string, path = '/var/log/drover/run.jsonl'): AuditLogInput {
  const verdict = verifyChain(text);
  return { path, text, chain: { status: verdict.status, text: describeVerdict(verdict) }, signature: { status: 'missing', text: 'unsigned' } };
}

describe('audit report', () => {
  describe('compactHosts', () => {
    const table: Array<[string[], string[]]> = [
      [nodes.slice(0, 18), ['node[01:18]']],
      [['node01', 'node02', 'node03', 'node05', 'node07', 'node08'], ['node[01:03,05,07:08]']],
      [['lab-3', 'lab-1', 'lab-2'], ['lab-[1:3]']],
      [['web9', 'web10', 'web11'], ['web[9:11]']],
      [['node09', 'node10', 'node11'], ['node[09:11]']],
      [
        ['node1', 'node01'],
        ['node01', 'node1'],
      ],
      [
        ['db1', 'node02', 'node01', 'gateway'],
        ['db1', 'gateway', 'node[01:02]'],
      ],
      [
        ['rack1-node1', 'rack1-node2', 'rack2-node1'],
        ['rack1-node[1:2]', 'rack2-node1'],
      ],
      [['a1.example.com', 'a2.example.com'], ['a[1:2].example.com']],
      [['solo'], ['solo']],
    ];
    for (const [names, expected] of table) {
      it(`${names.join(',')} → ${expected.join(' ')}`, () => expect(compactHosts(names)).to.deep.equal(expected));
    }
  });

  it('groups hosts that change the same way, and counts ok and skipped per task', () => {
    const [report] = buildRunReports([input(fleetLog())]);
    const forwarding = report!.tasks[0]!;
    expect(forwarding.name).to.equal('ip forwarding');
    expect(forwarding.changed.map((group) => [group.hosts.length, compactHosts(group.hosts), group.lines])).to.deep.equal([
      [18, ['node[01:18]'], ['set net.ipv4.ip_forward 0 → 1']],
      [1, ['node19'], ['set net.ipv4.ip_forward 2 → 1']],
    ]);
    expect(forwarding.changed[0]!.diffs).to.deep.equal(['net.ipv4.ip_forward: "0" → "1"']);
    expect(forwarding.failed).to.deep.equal(['db1']);
    expect(forwarding.unreachable).to.deep.equal(['db2']);
    const swap = report!.tasks[1]!;
    expect([swap.ok.length, swap.skipped]).to.deep.equal([18, ['node05']]);
    expect(report!.failures.map((failure) => [failure.hosts, failure.message, failure.hint, failure.exitCode, failure.stderrTail])).to.deep.equal([
      [['db1'], 'sysctl -w failed on db1: permission denied', 'run with become', 255, 'permission denied'],
    ]);
    // Recorded twice (the task's result and the host event), reported once.
    expect(report!.unreachable.map((group) => group.hosts)).to.deep.equal([['db2']]);
    expect(report!.totals).to.deep.include({ hosts: 21, hostsChanged: 19, changed: 19, failed: 1, ok: 18, skipped: 1, unreachable: 1 });
    expect(report!.identity).to.deep.include({ operator: 'alice', controller: 'bastion-1', mode: 'check', exitCode: 2 });
  });

  it('renders HTML with the identity at the top, failures before tasks, and diffs collapsed per group', () => {
    const page = renderHtml(buildRunReports([input(fleetLog())]));
    for (const text of ['alice', 'bastion-1', 'c0ffee', 'a'.repeat(64), 'b'.repeat(64), 'chain intact', 'unsigned', '/srv/playbooks/cluster.ts']) {
      expect(page, text).to.include(text);
    }
    expect(page.indexOf('id="failures"')).to.be.greaterThan(0).and.lessThan(page.indexOf('class="task"'));
    expect(page.indexOf('id="unreachable"')).to.be.lessThan(page.indexOf('class="task"'));
    expect(page).to.match(/<span class="count">18 hosts<\/span> <code class="host">node\[01:18\]<\/code><ul class="changes"><li>set net\.ipv4\.ip_forward 0 → 1<\/li><\/ul><details>/);
    expect(page).to.include('18 ok · 1 skipped');
    // Self-contained: nothing to fetch, no script.
    expect(page).not.to.match(/<script|<link|src=|href="(?!#)/i);
  });

  describe('hostile names and output', () => {
    const evilHost = '<img src=x onerror=alert(1)>';
    const evilTask = '</title><script>alert("t")</script> [click](http://evil.example) ![x](http://evil.example/x.png)';
    const evilContent = 'line one\n```\n<script>alert(2)</script>\n\u202eevil\u001b[31m\n';
    const log = () =>
      chainedLog([
        start([evilHost, 'ok-host']),
        { kind: 'play-start', runId: RUN, time, play: '<b>play</b>', hosts: [evilHost], batch: 1, batches: 1 },
        task(evilHost, evilTask, 'changed', { changes: ['write <script>x</script>'], diffs: [{ kind: 'file', path: '/etc/<x>', before: null, after: evilContent }] }),
        task('ok-host', evilTask, 'failed', { msg: '<iframe src="http://evil"></iframe>', commands: [{ line: 'echo `id` <x>', executed: true, exitCode: 1, stderrTail: '```\n</pre><script>alert(3)</script>' }] }),
        end([evilHost], 2),
      ]);

    it('escapes every value in HTML and makes control characters visible', () => {
      const page = renderHtml(buildRunReports([input(log())]));
      expect(page).not.to.match(/<script|<img|<iframe|<b>play|<\/title><|<x>/i);
      expect(page).to.include('&#60;img src=x onerror=alert(1)&#62;');
      expect(page).to.include('&#60;script&#62;alert(2)&#60;/script&#62;');
      expect(page).to.include('&#60;U+202E&#62;evil\u241b[31m');
      expect(page).not.to.match(/[\u202e\u001b]/);
    });

    it('escapes every value in Markdown, and no content can close its code fence', () => {
      const markdown = renderMarkdown(buildRunReports([input(log())]));
      // Inside a fenced block everything is literal; outside it nothing may be markup.
      const outsideCode = markdown.replace(/^ *(`{3,})[^\n]*\n[\s\S]*?^ *\1\n/gm, '');
      expect(outsideCode).to.include('<details>');
      expect(outsideCode).not.to.match(/<script|<img|<iframe|<b>|\]\(http/i);
      expect(markdown).to.include('&lt;img src=x onerror=alert\\(1\\)&gt;');
      expect(markdown).to.include('\\[click\\]\\(http://evil.example\\) \\!\\[x\\]\\(http://evil.example/x.png\\)');
      // The diff holds ``` so its fence is four backticks, closed only by the next four.
      expect(markdown).to.match(/\n {2}````diff\n(?: {2}[^`\n][^\n]*\n)*? {2}\+```\n(?: {2}[^`\n][^\n]*\n)* {2}````\n/);
      expect(markdown).not.to.match(/[\u202e\u001b]/);
    });
  });

  it('renders Markdown for a pull request: identity table, failures first, each group with its diff in <details>', () => {
    const markdown = renderMarkdown(buildRunReports([input(fleetLog())]));
    expect(markdown).to.include('| operator | alice |');
    expect(markdown).to.include('| commit | c0ffee');
    expect(markdown.indexOf('### Failures')).to.be.greaterThan(0).and.lessThan(markdown.indexOf('### Tasks'));
    expect(markdown.indexOf('### Unreachable hosts')).to.be.lessThan(markdown.indexOf('### Tasks'));
    expect(markdown).to.include('- **18 hosts** node\\[01:18\\]: set net.ipv4.ip\\_forward 0 → 1\n\n  <details><summary>diff (would change on 18 hosts)</summary>\n\n  ```diff\n  net.ipv4.ip_forward: "0" → "1"\n  ```\n\n  </details>');
    expect(markdown).to.include('**1 host** node19: set net.ipv4.ip\\_forward 2 → 1');
    expect(markdown).to.include('**1 failed** (db1) · **1 unreachable** (db2) · 0 ok · 0 skipped');
    expect(markdown).to.include('18 ok · 1 skipped');
  });

  it('puts several logs on one page, each run with its own identity and task anchors', () => {
    const other = fleetLog().replaceAll('alice', 'bob');
    const reports = buildRunReports([input(fleetLog(), '/logs/a.jsonl'), input(other, '/logs/b.jsonl')]);
    const page = renderHtml(reports);
    expect(page.match(/<main class="run">/g)).to.have.length(2);
    expect(page).to.include('id="log1-task-1"').and.include('id="log2-task-1"').and.include('href="#log2-task-1"');
    expect(page.indexOf('alice')).to.be.lessThan(page.indexOf('bob'));
    expect(renderMarkdown(reports).match(/^## drover check/gm)).to.have.length(2);
  });

  it('says when a log is cut short, and collapses a host list that does not fold into a few ranges', () => {
    const every = Array.from({ length: 300 }, (_, index) => `web${index * 2 + 1}`);
    const cut = chainedLog([start(every), { kind: 'play-start', runId: RUN, time, play: 'p', hosts: every, batch: 1, batches: 1 }, ...every.map((host) => task(host, 'odd hosts', 'changed', forward('0')))]);
    const [report] = buildRunReports([input(cut)]);
    expect([report!.chain.status, report!.identity.closed]).to.deep.equal(['incomplete', false]);
    const page = renderHtml([report!]);
    expect(page).to.include('no run-end record').and.include('no closing record').and.include('INCOMPLETE');
    expect(page).to.match(/<span class="count">300 hosts<\/span> <details class="hosts"><summary>web\[1,3,5,7,[^<]*… \(all 300\)<\/summary><code class="host">web\[1,3,5,/);
    expect(renderMarkdown([report!])).to.include('**no run-end record**');
  });
});
