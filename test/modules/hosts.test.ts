import { expect } from 'chai';
import { hosts, renderHostsBlock, type HostsEntry, type HostsParams } from '../../modules/hosts.ts';
import { ModuleError } from '../../runner/module-error.ts';
import type { Plan } from '../../runner/module.ts';
import { SchemaError } from '../../runner/schema.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { fileProbeAnswer } from '../support/file-probe.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';
import { seededBelow } from '../support/seeded-random.ts';
import { applyModule, closeTargets, labTargets, onHost, type LabTarget } from '../support/targets.ts';

/** /etc/hosts as Debian 12 writes it. */
const DEBIAN_HOSTS = `127.0.0.1\tlocalhost
127.0.1.1\tnode1

# The following lines are desirable for IPv6 capable hosts
::1     localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters
`;

const NODES: HostsEntry[] = [
  { address: '10.0.0.11', names: ['cp-1.cluster.example', 'cp-1'] },
  { address: '10.0.0.12', names: ['worker-1'] },
  { address: 'fd00::12', names: ['worker-1'] },
];
const BLOCK = '# BEGIN drover managed hosts\n10.0.0.11 cp-1.cluster.example cp-1\n10.0.0.12 worker-1\nfd00::12 worker-1\n# END drover managed hosts\n';

function recorded(text: string | null): RecordedHost {
  return new RecordedHost([fileProbeAnswer(text)], 'node1');
}

function plan(input: HostsParams, text: string | null): Promise<Plan> {
  return planOn(hosts, input, recorded(text));
}

function contentAfter(result: Plan): string | null | undefined {
  const diff = result.changes[0]?.diff;
  return diff?.kind === 'file' ? diff.after : undefined;
}

describe('hosts: the managed block (pure and planner)', () => {
  it('renders one line per entry', () => {
    expect(renderHostsBlock([{ address: '10.0.0.1', names: ['a', 'b'] }, { address: '::1', names: ['c'] }])).to.equal('10.0.0.1 a b\n::1 c');
  });

  it('adds the block at the end, keeping every other line', async () => {
    const result = await plan({ entries: NODES }, DEBIAN_HOSTS);
    expect(contentAfter(result)).to.equal(DEBIAN_HOSTS + BLOCK);
    expect(result.changes[0]!.summary).to.match(/^add block "drover managed hosts" in \/etc\/hosts, 3 entries \(update \/etc\/hosts/);
  });

  it('a re-run finds the block and changes nothing (no duplicate lines)', async () => {
    const result = await plan({ entries: NODES }, DEBIAN_HOSTS + BLOCK);
    expect(result.changes).to.deep.equal([]);
    expect(result.reason).to.equal('block "drover managed hosts" in /etc/hosts holds the 3 entries');
  });

  it('updates the block in place when the entries change', async () => {
    const text = `${DEBIAN_HOSTS}${BLOCK}10.9.9.9 after-the-block\n`;
    const result = await plan({ entries: NODES.slice(0, 1) }, text);
    expect(contentAfter(result)).to.equal(`${DEBIAN_HOSTS}# BEGIN drover managed hosts\n10.0.0.11 cp-1.cluster.example cp-1\n# END drover managed hosts\n10.9.9.9 after-the-block\n`);
    expect(result.changes[0]!.summary).to.match(/^update block/);
  });

  it('state absent, or no entries, removes the block and its markers', async () => {
    expect(contentAfter(await plan({ state: 'absent' }, DEBIAN_HOSTS + BLOCK))).to.equal(DEBIAN_HOSTS);
    expect(contentAfter(await plan({ entries: [] }, DEBIAN_HOSTS + BLOCK))).to.equal(DEBIAN_HOSTS);
    expect((await plan({ state: 'absent' }, DEBIAN_HOSTS)).changes).to.deep.equal([]);
  });

  it('keeps blocks with other markers apart', async () => {
    const other = '# BEGIN other\n10.1.1.1 x\n# END other\n';
    const result = await plan({ entries: NODES, marker: 'k8s nodes' }, DEBIAN_HOSTS + other);
    expect(contentAfter(result)).to.equal(`${DEBIAN_HOSTS}${other}${BLOCK.replace(/drover managed hosts/g, 'k8s nodes')}`);
  });

  it('validates addresses and names, naming the entry', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ entries: [{ address: '10.0.0.256', names: ['a'] }] }, /entries\[0\]\.address: "10\.0\.0\.256" is not an IPv4 or IPv6 address/],
      [{ entries: [{ address: '10.0.0', names: ['a'] }] }, /is not an IPv4 or IPv6 address/],
      [{ entries: [{ address: '10.0.0.1; rm -rf /', names: ['a'] }] }, /is not an IPv4 or IPv6 address/],
      [{ entries: [{ address: 'fd00::1 # x', names: ['a'] }] }, /is not an IPv4 or IPv6 address/],
      [{ entries: [{ address: '10.0.0.1', names: [] }] }, /entries\[0\]\.names: must not be an empty list/],
      [{ entries: [{ address: '10.0.0.1', names: ['ok', 'bad name'] }] }, /entries\[0\]\.names\[1\]: "bad name" is not a valid host name/],
      [{ entries: [{ address: '10.0.0.1', names: ['$(touch /tmp/pwned)'] }] }, /is not a valid host name/],
      [{ entries: [{ address: '10.0.0.1', names: ['a'] }], marker: 'two\nlines' }, /marker: /],
      [{ entries: [], path: 'etc/hosts' }, /path: /],
    ];
    for (const [input, message] of bad) expect(() => hosts.params.parse(input, ''), JSON.stringify(input)).to.throw(SchemaError, message);
  });

  it('a path that is a directory is an error', async () => {
    const host = new RecordedHost([{ match: 'sha256sum', output: { stdout: 'parent=yes\nkind=directory\nstat=755 0 0 4096 root root\n' } }], 'node1');
    const error = await planOn(hosts, { entries: NODES, path: '/etc' }, host).catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(ModuleError);
    expect((error as ModuleError).message).to.match(/\/etc is a directory/);
  });
});

// ── Integration: lab host index 1, its real /etc/hosts (restored byte for byte after each test). ──

const MARKER = 'drover-test-hosts';
const PWNED = '/tmp/drover-pwned-hosts';
const POOL: HostsEntry[] = [
  { address: '10.231.0.11', names: ['drover-test-lab-1'] },
  { address: '10.231.0.12', names: ['drover-test-lab-2.cluster.test', 'drover-test-lab-2'] },
  { address: '10.231.0.13', names: ['drover-test-lab-3'] },
  { address: 'fd00::13', names: ['drover-test-lab-3'] },
];

describe('hosts on a lab host', function () {
  let target: LabTarget;
  let original = '';

  async function etcHosts(): Promise<string> {
    return (await onHost(target, 'cat /etc/hosts')).stdout;
  }

  before(async function () {
    const targets = await labTargets(this, 2);
    target = targets[1]!;
    await closeTargets();
    original = await etcHosts();
    expect(original).to.not.include(MARKER);
    await onHost(target, `rm -f ${PWNED}`);
  });

  afterEach(async () => {
    await onHost(target, 'cat > /etc/hosts', original);
    expect(await etcHosts()).to.equal(original);
    await closeTargets();
  });

  it('applies, resolves the names, re-applies without change, and check mode changes nothing', async () => {
    const entries = POOL.slice(0, 2);
    const first = await applyModule(target, hosts, { entries, marker: MARKER });
    expect(first.status, first.msg).to.equal('changed');
    const block = `# BEGIN ${MARKER}\n10.231.0.11 drover-test-lab-1\n10.231.0.12 drover-test-lab-2.cluster.test drover-test-lab-2\n# END ${MARKER}\n`;
    expect(await etcHosts()).to.equal(original + block);
    // The resolver reads it: an independent check that the lines are well formed.
    const resolved = await onHost(target, 'getent hosts drover-test-lab-2');
    expect(resolved.stdout).to.match(/^10\.231\.0\.12\s+drover-test-lab-2\.cluster\.test drover-test-lab-2\n$/);

    const again = await applyModule(target, hosts, { entries, marker: MARKER });
    expect(again.status, again.msg).to.equal('ok');
    expect(again.commands).to.deep.equal([]);
    expect(await etcHosts()).to.equal(original + block);

    const before = await etcHosts();
    const check = await applyModule(target, hosts, { entries: POOL, marker: MARKER }, { check: true });
    expect(check.status).to.equal('changed');
    expect(check.diffs).to.have.length(1);
    expect(check.commands.every((command) => !command.executed)).to.equal(true);
    expect(await etcHosts()).to.equal(before);

    const removed = await applyModule(target, hosts, { state: 'absent', marker: MARKER });
    expect(removed.status, removed.msg).to.equal('changed');
    expect(await etcHosts()).to.equal(original);
  });

  it('check mode predicts exactly what the real run does (seeded random sample)', async () => {
    const random = seededBelow(31337);
    const outcomes = new Set<boolean>();
    for (let round = 0; round < 8; round++) {
      const entries = POOL.filter(() => random(2) === 0);
      const params: HostsParams = { entries, marker: random(3) === 0 ? `${MARKER}-b` : MARKER, state: random(5) === 0 ? 'absent' : 'present' };
      const label = `round ${round}: ${JSON.stringify(params)}`;
      const { real } = await predictThenApply(target, hosts, params, label);
      outcomes.add(real.changed);
    }
    expect([...outcomes].sort()).to.deep.equal([false, true]);
  });

  it('hostile strings: a marker arrives literally in the file, bad names and addresses are rejected', async () => {
    const marker = `${MARKER} ; touch ${PWNED} $(touch ${PWNED}) \`touch ${PWNED}\` 'q' "d" ünïcødé`;
    const result = await applyModule(target, hosts, { entries: POOL.slice(0, 1), marker });
    expect(result.status, result.msg).to.equal('changed');
    expect(await etcHosts()).to.equal(`${original}# BEGIN ${marker}\n10.231.0.11 drover-test-lab-1\n# END ${marker}\n`);
    const again = await applyModule(target, hosts, { entries: POOL.slice(0, 1), marker });
    expect(again.status, again.msg).to.equal('ok');

    const rejected: HostsParams[] = [
      { entries: [{ address: `10.0.0.1; touch ${PWNED}`, names: ['a'] }] },
      { entries: [{ address: '10.0.0.1', names: [`$(touch ${PWNED})`] }] },
      { entries: [{ address: '10.0.0.1', names: [`\`touch ${PWNED}\``] }] },
      { entries: [{ address: '10.0.0.1', names: ['a\n10.6.6.6 evil'] }] },
      { entries: [{ address: '10.0.0.1', names: ['ünïcødé'] }] },
      { entries: [], marker: 'a\nb' },
    ];
    for (const input of rejected) {
      const failed = await applyModule(target, hosts, input);
      expect(failed.status, JSON.stringify(input)).to.equal('failed');
      expect(failed.failure?.kind).to.equal('invalid-input');
    }
    expect((await onHost(target, `test -e ${PWNED} && echo pwned || echo clean`)).stdout.trim()).to.equal('clean');
  });

  it('fails clearly when the path is not a file', async () => {
    const result = await applyModule(target, hosts, { entries: POOL.slice(0, 1), path: '/etc' });
    expect(result.status).to.equal('failed');
    expect(result.msg).to.match(/\/etc is a directory, not a file/);
  });
});
