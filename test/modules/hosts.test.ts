import { expect } from 'chai';
import { hosts, renderHostsBlock, type HostsEntry, type HostsParams } from '../../modules/hosts.ts';
import { ModuleError } from '../../runner/module-error.ts';
import type { Plan } from '../../runner/module.ts';
import { SchemaError } from '../../runner/schema.ts';
import { fileProbeAnswer } from '../support/file-probe.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';

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
    expect(
      renderHostsBlock([
        { address: '10.0.0.1', names: ['a', 'b'] },
        { address: '::1', names: ['c'] },
      ]),
    ).to.equal('10.0.0.1 a b\n::1 c');
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
