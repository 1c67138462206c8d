import { expect } from 'chai';
import { normaliseSave } from '../../modules/facts/iptables.ts';
import { iptables, type IptablesParams } from '../../modules/iptables.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { executedCount } from '../support/executed.ts';
import { runOnHost } from '../support/host-script.ts';
import { seededSampler } from '../support/seeded-random.ts';
import { applyModule, closeTargets, labTargets, onHost, type LabTarget } from '../support/targets.ts';

describe('iptables on a lab host', function () {
  const PWNED = '/tmp/drover-test-iptables-pwned';
  const SAVE_DIR = '/tmp/drover-test-iptables';
  let target: LabTarget;

  const sh = (script: string): Promise<string> => runOnHost(target, script);

  /**
   * Removes this file's rules (comment drover-test) and chains (DROVER-TEST-*) from both backends and both
   * IP versions. Legacy tables are only visited where they exist (/proc/net/ip*_tables_names): listing one
   * would create it, and nft's iptables then warns about legacy tables for the life of the host.
   */
  async function cleanUp(): Promise<void> {
    await sh(`for b in iptables-nft iptables-legacy ip6tables-nft ip6tables-legacy; do
  for t in filter nat mangle raw; do
    case $b in
      iptables-legacy) grep -qx "$t" /proc/net/ip_tables_names 2>/dev/null || continue;;
      ip6tables-legacy) grep -qx "$t" /proc/net/ip6_tables_names 2>/dev/null || continue;;
    esac
    $b -w -t $t -S >/dev/null 2>&1 || continue
    for c in $($b -w -t $t -S | awk '$1 == "-P" || $1 == "-N" {print $2}'); do
      $b -w -t $t -L "$c" -n --line-numbers | awk '/drover-test/ {print $1}' | sort -rn | while read -r n; do $b -w -t $t -D "$c" "$n"; done
    done
    for c in $($b -w -t $t -S | awk '$1 == "-N" && $2 ~ /^DROVER-TEST-/ {print $2}'); do $b -w -t $t -F "$c"; done
    for c in $($b -w -t $t -S | awk '$1 == "-N" && $2 ~ /^DROVER-TEST-/ {print $2}'); do $b -w -t $t -X "$c"; done
  done
  case $b in *legacy) ;; *) $b -w -t filter -P FORWARD ACCEPT 2>/dev/null || true;; esac
done
update-alternatives --auto iptables >/dev/null; update-alternatives --auto ip6tables >/dev/null
rm -rf ${SAVE_DIR} /etc/iptables ${PWNED}`);
  }

  /** What check mode must leave alone: every table of both versions and the save files. */
  async function snapshot(): Promise<string> {
    return sh(`iptables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]$//'; ip6tables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]$//'; cat ${SAVE_DIR}/* /etc/iptables/* 2>/dev/null || true`);
  }

  before(async function () {
    const targets = await labTargets(this, 3);
    target = targets[Math.min(2, targets.length - 1)]!;
    await closeTargets();
  });
  beforeEach(async () => {
    await cleanUp();
  });
  afterEach(async () => {
    await closeTargets();
  });
  after(async () => {
    if (target) await cleanUp();
  });

  it('adds a rule once: reads back with iptables -S, re-applies without change, check mode changes nothing and predicts the listing', async () => {
    const api: IptablesParams = { chain: 'INPUT', protocol: 'tcp', destinationPort: 6443, ctstate: ['NEW'], jump: 'ACCEPT', comment: 'drover-test api' };
    const first = await applyModule(target, iptables, api);
    expect(first.status, first.msg).to.equal('changed');
    const rule = '-A INPUT -p tcp -m tcp --dport 6443 -m conntrack --ctstate NEW -m comment --comment "drover-test api" -j ACCEPT';
    expect((await sh('iptables -S INPUT')).split('\n').filter((line) => line === rule)).to.have.length(1);
    expect(first.diffs).to.deep.equal([{ kind: 'value', name: 'iptables -t filter -S INPUT', before: '-P INPUT ACCEPT\n', after: `-P INPUT ACCEPT\n${rule}\n` }]);

    const again = await applyModule(target, iptables, api);
    expect([again.status, executedCount(again)], again.msg).to.deep.equal(['ok', 0]);
    expect(again.msg).to.equal('filter INPUT: the rule is present (iptables 1.8.9 (nf_tables))');

    const etcd: IptablesParams = { chain: 'INPUT', protocol: 'tcp', destinationPort: ['2379:2380', 10250], jump: 'ACCEPT', comment: 'drover-test etcd', action: 'insert', ruleNum: 1 };
    const before = await snapshot();
    const check = await applyModule(target, iptables, etcd, { check: true });
    expect([check.status, executedCount(check)]).to.deep.equal(['changed', 0]);
    expect(await snapshot()).to.equal(before);
    const real = await applyModule(target, iptables, etcd);
    expect(real.diffs).to.deep.equal(check.diffs);
    const diff = real.diffs[0];
    expect(diff?.kind === 'value' ? diff.after : null).to.equal(await sh('iptables -S INPUT'));
    expect((await applyModule(target, iptables, etcd)).status).to.equal('ok');

    const removed = await applyModule(target, iptables, { ...etcd, state: 'absent' });
    expect(removed.status, removed.msg).to.equal('changed');
    expect(await sh('iptables -S INPUT')).to.equal(`-P INPUT ACCEPT\n${rule}\n`);
    expect((await applyModule(target, iptables, { ...etcd, state: 'absent' })).status).to.equal('ok');
  });

  it('absent removes every copy of a duplicated rule', async () => {
    await sh('iptables -A INPUT -p udp --dport 9 -m comment --comment drover-test-dup -j DROP; iptables -A INPUT -p udp --dport 9 -m comment --comment drover-test-dup -j DROP');
    const removed = await applyModule(target, iptables, { chain: 'INPUT', protocol: 'udp', destinationPort: 9, comment: 'drover-test-dup', jump: 'DROP', state: 'absent' });
    expect(removed.status, removed.msg).to.equal('changed');
    expect(await sh('iptables -S INPUT | grep -c drover-test-dup || true')).to.equal('0\n');
  });

  it('manages a chain: create, jump to it, refuse to delete it while used, flush and delete; a policy; never touches other chains', async () => {
    await sh('iptables -N DROVER-TEST-OTHER && iptables -A DROVER-TEST-OTHER -m comment --comment drover-test-other -j RETURN');
    const chain = 'DROVER-TEST-CHAIN';
    const created = await applyModule(target, iptables, { chain, chainManagement: true, protocol: 'tcp', destinationPort: 10250, jump: 'ACCEPT', comment: 'drover-test kubelet' });
    expect(created.changes).to.deep.equal([`create chain filter ${chain}`, `append to filter ${chain}: -p tcp --dport 10250 -m comment --comment 'drover-test kubelet' -j ACCEPT`]);
    expect(await sh(`iptables -S ${chain}`)).to.equal(`-N ${chain}\n-A ${chain} -p tcp -m tcp --dport 10250 -m comment --comment "drover-test kubelet" -j ACCEPT\n`);
    expect((await applyModule(target, iptables, { chain, chainManagement: true })).status).to.equal('ok');
    const jump = await applyModule(target, iptables, { chain: 'INPUT', inInterface: 'eth0', jump: chain, comment: 'drover-test jump' });
    expect(jump.status, jump.msg).to.equal('changed');

    const refused = await applyModule(target, iptables, { chain, chainManagement: true, flush: true, state: 'absent' });
    expect(refused.status).to.equal('failed');
    expect(refused.msg).to.match(/is used by 1 rule\(s\): -A INPUT -i eth0 -m comment --comment "drover-test jump" -j DROVER-TEST-CHAIN/);
    expect(await sh(`iptables -S ${chain} | wc -l`)).to.equal('2\n');

    expect((await applyModule(target, iptables, { chain: 'INPUT', inInterface: 'eth0', jump: chain, comment: 'drover-test jump', state: 'absent' })).status).to.equal('changed');
    const deleted = await applyModule(target, iptables, { chain, chainManagement: true, flush: true, state: 'absent' });
    expect(deleted.changes).to.deep.equal([`flush filter ${chain} (1 rule(s))`, `delete chain filter ${chain}`]);
    expect((await onHost(target, `iptables -S ${chain}`)).exitCode).to.not.equal(0);
    expect((await applyModule(target, iptables, { chain, chainManagement: true, flush: true, state: 'absent' })).status).to.equal('ok');
    expect(await sh('iptables -S DROVER-TEST-OTHER')).to.equal('-N DROVER-TEST-OTHER\n-A DROVER-TEST-OTHER -m comment --comment drover-test-other -j RETURN\n');

    // FORWARD: the lab hosts route nothing, so a DROP policy there is harmless; restored by cleanUp.
    const policy = await applyModule(target, iptables, { chain: 'FORWARD', policy: 'DROP' });
    expect(policy.diffs).to.deep.equal([{ kind: 'value', name: 'iptables filter FORWARD policy', before: 'ACCEPT', after: 'DROP' }]);
    expect(await sh('iptables -S FORWARD | head -n 1')).to.equal('-P FORWARD DROP\n');
    expect((await applyModule(target, iptables, { chain: 'FORWARD', policy: 'DROP' })).status).to.equal('ok');
    expect((await applyModule(target, iptables, { chain: 'FORWARD', policy: 'ACCEPT' })).status).to.equal('changed');
  });

  it('nat DNAT, ip6tables, and saving: the saved file is exactly the predicted one and the live ruleset', async () => {
    const dnat: IptablesParams = { table: 'nat', chain: 'PREROUTING', protocol: 'tcp', destinationPort: 8080, jump: 'DNAT', toDestination: `${target.address}:80`, comment: 'drover-test dnat', save: true };
    const predicted = await applyModule(target, iptables, dnat, { check: true });
    expect(predicted.changes.at(-1)).to.match(/^create \/etc\/iptables\/rules\.v4 \(\d+ bytes, creating \/etc\/iptables\)$/);
    expect(await sh('test -e /etc/iptables && echo exists || echo absent')).to.equal('absent\n');
    const real = await applyModule(target, iptables, dnat);
    expect(real.diffs).to.deep.equal(predicted.diffs);
    const saved = await sh('cat /etc/iptables/rules.v4');
    const fileDiff = real.diffs.find((diff) => diff.kind === 'file');
    expect(fileDiff?.kind === 'file' ? fileDiff.after : null).to.equal(saved);
    expect(saved).to.equal(normaliseSave(await sh('iptables-save')));
    expect(saved).to.include(`-A PREROUTING -p tcp -m tcp --dport 8080 -m comment --comment "drover-test dnat" -j DNAT --to-destination ${target.address}:80`);
    expect((await applyModule(target, iptables, dnat)).status).to.equal('ok');

    // The file follows the live ruleset even when the rule itself is unchanged.
    await sh('iptables -A INPUT -m comment --comment drover-test-by-hand -j ACCEPT');
    const resave = await applyModule(target, iptables, dnat);
    expect(resave.changes).to.deep.equal([`update /etc/iptables/rules.v4 (${Buffer.byteLength(saved)} → ${Buffer.byteLength(saved) + Buffer.byteLength('-A INPUT -m comment --comment drover-test-by-hand -j ACCEPT\n')} bytes)`]);
    expect(await sh('cat /etc/iptables/rules.v4')).to.equal(normaliseSave(await sh('iptables-save')));

    const v6: IptablesParams = { ipVersion: 'ipv6', chain: 'INPUT', source: 'fd00::/8', protocol: 'ipv6-icmp', jump: 'ACCEPT', comment: 'drover-test v6', save: true, saveFile: `${SAVE_DIR}/rules.v6` };
    expect((await applyModule(target, iptables, v6)).status).to.equal('changed');
    expect(await sh('ip6tables -S INPUT')).to.equal('-P INPUT ACCEPT\n-A INPUT -s fd00::/8 -p ipv6-icmp -m comment --comment "drover-test v6" -j ACCEPT\n');
    expect(await sh(`cat ${SAVE_DIR}/rules.v6`)).to.equal(normaliseSave(await sh('ip6tables-save')));
    expect(await sh('iptables -S INPUT | grep -c fd00 || true')).to.equal('0\n');
    expect((await applyModule(target, iptables, v6)).status).to.equal('ok');
  });

  it('works the same with iptables-legacy', async () => {
    await sh('update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null && iptables --version');
    try {
      const params: IptablesParams = { chain: 'DROVER-TEST-LEGACY', chainManagement: true, protocol: 'udp', destinationPort: [53, 5353], jump: 'ACCEPT', comment: 'drover-test legacy', save: true, saveFile: `${SAVE_DIR}/legacy.v4` };
      const predicted = await applyModule(target, iptables, params, { check: true });
      const real = await applyModule(target, iptables, params);
      expect(real.status, real.msg).to.equal('changed');
      expect(real.diffs).to.deep.equal(predicted.diffs);
      expect(real.msg).to.not.match(/nf_tables/);
      expect(await sh('iptables-legacy -S DROVER-TEST-LEGACY')).to.equal('-N DROVER-TEST-LEGACY\n-A DROVER-TEST-LEGACY -p udp -m multiport --dports 53,5353 -m comment --comment "drover-test legacy" -j ACCEPT\n');
      expect((await onHost(target, 'iptables-nft -S DROVER-TEST-LEGACY')).exitCode, 'nothing in the other backend').to.not.equal(0);
      expect(await sh(`cat ${SAVE_DIR}/legacy.v4`)).to.equal(normaliseSave(await sh('iptables-legacy-save')));
      const again = await applyModule(target, iptables, params);
      expect([again.status, executedCount(again)], again.msg).to.deep.equal(['ok', 0]);
      expect(again.msg).to.match(/\(iptables 1\.8\.9 \(legacy\)\)/);
      expect((await applyModule(target, iptables, { chain: 'DROVER-TEST-LEGACY', chainManagement: true, flush: true, state: 'absent' })).status).to.equal('changed');
    } finally {
      await sh('update-alternatives --auto iptables >/dev/null');
    }
  });

  it('check mode predicts exactly what the real run does (seeded random sample)', async () => {
    const { next: random, pick } = seededSampler(1789);
    const outcomes = new Set<boolean>();
    for (let round = 0; round < 10; round++) {
      const chain = pick(['INPUT', 'DROVER-TEST-R'] as const);
      const params: IptablesParams = {
        chain,
        protocol: 'tcp',
        destinationPort: pick([80, 443, [80, 443], '8000:8100'] as const),
        jump: pick(['ACCEPT', 'DROP'] as const),
        comment: 'drover-test r',
        state: pick(['present', 'present', 'absent'] as const),
      };
      if (chain !== 'INPUT') params.chainManagement = true;
      if (random() < 0.4) Object.assign(params, { action: 'insert', ruleNum: 1 });
      if (random() < 0.4) Object.assign(params, { save: true, saveFile: `${SAVE_DIR}/random.v4` });
      const label = `round ${round}: ${JSON.stringify(params)}`;
      const { predicted, real } = await predictThenApply(target, iptables, params, label);
      expect(predicted.changes, label).to.deep.equal(real.changes);
      for (const diff of real.diffs) {
        if (diff.kind === 'value' && diff.name === `iptables -t filter -S ${chain}` && diff.after !== null) {
          expect(diff.after, `${label}: predicted listing`).to.equal(await sh(`iptables -S ${chain}`));
        }
        if (diff.kind === 'file') expect(diff.after, `${label}: saved file`).to.equal(await sh(`cat ${diff.path}`));
      }
      outcomes.add(real.changed);
      await closeTargets();
      const repeat = await applyModule(target, iptables, params);
      expect([repeat.status, executedCount(repeat)], `${label} (again): ${repeat.msg}`).to.deep.equal(['ok', 0]);
      outcomes.add(repeat.changed);
    }
    expect([...outcomes].sort()).to.deep.equal([false, true]);
  });

  it('hostile strings arrive literally or are rejected, never executed', async () => {
    const comment = `drover-test $(touch ${PWNED}) \`touch ${PWNED}\` '"; touch ${PWNED}; echo "' back\\slash ünïcødé ☃`;
    const params: IptablesParams = { chain: 'INPUT', comment, jump: 'LOG', logPrefix: `$(touch ${PWNED})`.slice(0, 29) };
    const added = await applyModule(target, iptables, params);
    expect(added.status, added.msg).to.equal('changed');
    expect(await sh('iptables -L INPUT -n')).to.include(`/* ${comment} */`);
    expect(await sh('iptables -S INPUT')).to.include(`--log-prefix "${`$(touch ${PWNED})`.slice(0, 29)}"`);
    const again = await applyModule(target, iptables, params);
    expect([again.status, executedCount(again)]).to.deep.equal(['ok', 0]);
    expect((await applyModule(target, iptables, { ...params, state: 'absent' })).status).to.equal('changed');

    const rejected: IptablesParams[] = [
      { chain: `INPUT; touch ${PWNED}`, jump: 'ACCEPT' },
      { chain: 'INPUT', jump: `$(touch ${PWNED})` },
      { chain: 'INPUT', comment: `drover-test\ntouch ${PWNED}`, jump: 'ACCEPT' },
      { chain: 'INPUT', source: `10.0.0.1; touch ${PWNED}`, jump: 'ACCEPT' },
      { chain: 'INPUT', protocol: 'tcp', destinationPort: `80$(touch ${PWNED})`, jump: 'ACCEPT' },
      { chain: 'INPUT', inInterface: '`touch x`', jump: 'ACCEPT' },
    ];
    for (const input of rejected) {
      const result = await applyModule(target, iptables, input);
      expect([result.status, result.failure?.kind], JSON.stringify(input)).to.deep.equal(['failed', 'invalid-input']);
    }
    expect(await sh(`test -e ${PWNED} && echo pwned || echo clean`)).to.equal('clean\n');
    expect(await sh('iptables -S INPUT | grep -c drover-test || true')).to.equal('0\n');
  });

  it("an invalid rule fails with iptables' own message, in check mode too, and changes nothing", async () => {
    const before = await snapshot();
    for (const check of [true, false]) {
      const missingTarget = await applyModule(target, iptables, { chain: 'INPUT', jump: 'DROVER-TEST-NOPE', comment: 'drover-test bad' }, { check });
      expect(missingTarget.status).to.equal('failed');
      expect(missingTarget.msg).to.match(/^iptables refused the rule for filter INPUT: .*(Chain 'DROVER-TEST-NOPE' does not exist|Couldn't load target `DROVER-TEST-NOPE')/);
      // In a chain that does not exist yet, -C cannot ask; the rehearsal finds the bad option.
      const badReject = await applyModule(target, iptables, { chain: 'DROVER-TEST-BAD', chainManagement: true, protocol: 'tcp', rejectWith: 'drover-bogus' }, { check });
      expect(badReject.status).to.equal('failed');
      expect(badReject.msg).to.match(/iptables refused "append to filter DROVER-TEST-BAD: -p tcp -j REJECT --reject-with drover-bogus": .*unknown reject type "drover-bogus"/);
      expect(badReject.failure?.hint).to.match(/nothing was changed/);
      const gone = await applyModule(target, iptables, { chain: 'INPUT', jump: 'DROVER-TEST-NOPE', comment: 'drover-test bad', state: 'absent' }, { check });
      expect(gone.status).to.equal('ok');
      expect(gone.msg).to.match(/the rule is absent \(iptables cannot parse it, so it cannot be there: .*DROVER-TEST-NOPE/);
      const noChain = await applyModule(target, iptables, { chain: 'DROVER-TEST-NONE', jump: 'ACCEPT' }, { check });
      expect(noChain.msg).to.equal('chain DROVER-TEST-NONE does not exist in the filter table');
    }
    expect(await snapshot()).to.equal(before);
  });
});
