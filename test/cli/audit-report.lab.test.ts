/**
 * The audit report and drift detection end to end: a real `--check --diff --detect-drift` run of a small
 * playbook on three lab hosts (two change the same way, one differently), `audit report` to HTML, and the
 * page rendered by a real headless Chromium (Debian's `chromium`, see .ci/lab-prereqs.sh): its DOM after
 * rendering must show the groups, and its screenshot is kept under test-output/ (git-ignored) and printed.
 * Then the apply, read back on the hosts with plain ssh, and a second dry run that finds nothing to do.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DRIFT_EXIT_STATUS } from '../../runner/events.ts';
import { compactHosts } from '../../runner/report/host-ranges.ts';
import { runCli, ROOT } from '../support/run-cli.ts';
import { describeOnLab, onHost, type LabTarget } from '../support/targets.ts';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = join(ROOT, 'test-output', 'audit-report');
const PLAYBOOK = join(ROOT, 'test/fixtures/playbooks/report-groups.ts');
const STATE_DIR = '/tmp/drover-report-test';

/** Three lab hosts; the third gets `report_flavour: special`, so one task changes it differently. */
function inventory(targets: LabTarget[]): string {
  const host = (target: LabTarget, special: boolean) =>
    `    ${target.name}:\n      ansible_host: ${target.address}\n      ansible_user: root\n      ansible_ssh_private_key_file: ${target.keyPath}\n${special ? '      report_flavour: special\n' : ''}`;
  const text = `all:\n  vars:\n    drover_known_hosts_file: ${targets[0]!.knownHostsPath}\n  hosts:\n${targets.map((target, index) => host(target, index === 2)).join('')}`;
  const path = join(mkdtempSync(join(tmpdir(), 'drover-report-inv-')), 'inventory.yaml');
  writeFileSync(path, text);
  return path;
}

/** Runs headless Chromium as the issue prescribes; resolves with its stdout (the DOM for --dump-dom). */
function chromium(args: string[]): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'drover-chromium-'));
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`];
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM, [...flags, ...args], { timeout: 180_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      rmSync(profile, { recursive: true, force: true });
      if (error) reject(new Error(`chromium ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Width and height from a PNG's IHDR chunk: the screenshot is a real image of the asked size. */
function pngSize(path: string): { width: number; height: number } {
  const bytes = readFileSync(path);
  expect(bytes.subarray(1, 4).toString('latin1')).to.equal('PNG');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

async function clean(targets: LabTarget[]): Promise<void> {
  await Promise.all(targets.map((target) => onHost(target, `rm -rf ${STATE_DIR}`)));
}

describeOnLab('audit report and drift detection against lab hosts', 3, (lab) => {
  const targets = () => lab().slice(0, 3);
  let inventoryPath: string;
  before(async function () {
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: run .ci/lab-prereqs.sh (it installs Debian's chromium)`);
      console.log(`  ${CHROMIUM} is missing (apt-get install chromium, or .ci/lab-prereqs.sh): skipping`);
      this.skip();
    }
    inventoryPath = inventory(targets());
    await clean(targets());
    mkdirSync(OUTPUT, { recursive: true });
  });
  after(async () => clean(targets()));

  it(`reports a dry run as grouped changes in a page Chromium renders, exits ${DRIFT_EXIT_STATUS} while changes are pending, 0 once applied`, async function () {
    this.timeout(900_000);
    const [first, second, third] = targets().map((target) => target.name) as [string, string, string];
    const work = mkdtempSync(join(tmpdir(), 'drover-report-run-'));
    const checkLog = join(work, 'check.jsonl');

    const check = await runCli([PLAYBOOK, '-i', inventoryPath, '--check', '--diff', '--detect-drift', '--audit-log', checkLog], { timeoutMs: 300_000 });
    expect(check.code, check.stdout + check.stderr).to.equal(DRIFT_EXIT_STATUS);
    expect(check.stdout).to.include(`exit ${DRIFT_EXIT_STATUS}: changes pending`);
    for (const target of targets()) expect((await onHost(target, `test -e ${STATE_DIR} && echo present || echo absent`)).stdout.trim()).to.equal('absent');

    const page = join(OUTPUT, 'report.html');
    const report = await runCli(['audit', 'report', checkLog, '-o', page]);
    expect(report.code, report.stdout + report.stderr).to.equal(0);

    const dom = await chromium(['--dump-dom', `file://${page}`]);
    const group = (count: string, hosts: string[], change: string) => `<span class="count">${count}</span> <code class="host">${compactHosts(hosts).join('</code> <code class="host">')}</code><ul class="changes"><li>${change}`;
    // The same change on all three, the flavoured file on two alike and the third apart, the directory task ok on all.
    expect(dom).to.include(group('3 hosts', [first, second, third], `create ${STATE_DIR}/common.conf`));
    expect(dom).to.include(group('2 hosts', [first, second], `create ${STATE_DIR}/flavour.conf`));
    expect(dom).to.include(group('1 host', [third], `create ${STATE_DIR}/flavour.conf`));
    expect(dom).to.include('flavour = special').and.include('flavour = standard');
    expect(dom).to.include('chain intact').and.include(`exit ${DRIFT_EXIT_STATUS}`).and.include('3 ok · 0 skipped');
    expect(dom).to.match(/<details><summary>diff \(would change on 2 hosts\)<\/summary>/);

    const screenshot = join(OUTPUT, 'report.png');
    rmSync(screenshot, { force: true });
    await chromium([`--screenshot=${screenshot}`, '--window-size=1280,1600', '--hide-scrollbars', `file://${page}`]);
    expect(pngSize(screenshot)).to.deep.equal({ width: 1280, height: 1600 });
    console.log(`      screenshot of the report: ${screenshot}`);

    const apply = await runCli([PLAYBOOK, '-i', inventoryPath, '--audit-log', join(work, 'apply.jsonl')], { timeoutMs: 300_000 });
    expect(apply.code, apply.stdout + apply.stderr).to.equal(0);
    for (const [index, target] of targets().entries()) {
      const read = await onHost(target, `cat ${STATE_DIR}/common.conf ${STATE_DIR}/flavour.conf`);
      expect(read.stdout).to.equal(`net.ipv4.ip_forward = 1\nflavour = ${index === 2 ? 'special' : 'standard'}\n`);
    }

    const again = await runCli([PLAYBOOK, '-i', inventoryPath, '--check', '--detect-drift', '--audit-log', join(work, 'again.jsonl')], { timeoutMs: 300_000 });
    expect(again.code, again.stdout + again.stderr).to.equal(0);
  });

  it('keeps failures apart from drift: a dry run whose host fails exits 2, not the drift status, and the report shows the failure first', async function () {
    this.timeout(600_000);
    const [, , third] = targets();
    // A directory where the playbook writes a file: the dry run of that copy fails on this host only.
    await onHost(third!, `rm -rf ${STATE_DIR}/common.conf && mkdir -p ${STATE_DIR}/common.conf`);
    const work = mkdtempSync(join(tmpdir(), 'drover-report-fail-'));
    const log = join(work, 'check.jsonl');
    const check = await runCli([PLAYBOOK, '-i', inventoryPath, '--check', '--diff', '--detect-drift', '--keep-going', '--audit-log', log], { timeoutMs: 300_000 });
    expect(check.code, check.stdout + check.stderr).to.equal(2);

    const markdown = await runCli(['audit', 'report', log, '--format', 'markdown']);
    expect(markdown.code, markdown.stderr).to.equal(0);
    expect(markdown.stdout.indexOf('### Failures')).to.be.greaterThan(0).and.lessThan(markdown.stdout.indexOf('### Tasks'));
    expect(markdown.stdout).to.include(`**1 host** ${third!.name.replace(/[\\`*_{}[\]()#+!|~]/g, '\\$&')} — report groups › common setting (copy): ${STATE_DIR}/common.conf is a directory, not a file`);
  });
});
