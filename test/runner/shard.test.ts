/**
 * --shard I/N (issue 13 §4): the shards partition any host set exactly, are the same on every run and
 * every controller, and move few hosts when the fleet changes.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { applyShard, parseShard, selectionDigest, shardHosts, shardOf } from '../../runner/cli/shard.ts';
import { parseCommonOptions, UsageError } from '../../runner/cli/options.ts';

const hostsNamed = (names: string[]) => names.map((name) => ({ name }));
const fleet = (prefix: string, count: number) => hostsNamed(Array.from({ length: count }, (_, index) => `${prefix}${String(index + 1).padStart(3, '0')}`));

describe('--shard I/N', () => {
  it('partitions every host set exactly: each host in exactly one of the N shards', () => {
    const sets = [fleet('node', 1), fleet('node', 7), fleet('web', 100), fleet('db-', 333), hostsNamed(['a', 'b', 'c', 'x.example.org', '10.0.0.1', 'ünï'])];
    for (const hosts of sets) {
      for (const count of [1, 2, 3, 4, 7, 16]) {
        const parts = Array.from({ length: count }, (_, index) => shardHosts(hosts, { index: index + 1, count }).map((host) => host.name));
        const all = parts.flat();
        expect(all.length, `${hosts.length} hosts over ${count}`).to.equal(hosts.length);
        expect(new Set(all).size).to.equal(hosts.length);
        expect([...all].sort()).to.deep.equal(hosts.map((host) => host.name).sort());
      }
    }
  });

  it('is rendezvous hashing: the shard of the highest sha256(name \\0 index), 1-based', () => {
    for (const { name } of fleet('n', 50)) {
      const weights = [1, 2, 3, 4].map((index) => createHash('sha256').update(`${name}\0${index}`).digest('hex'));
      expect(shardOf(name, 4)).to.equal(weights.indexOf([...weights].sort().at(-1)!) + 1);
    }
  });

  it('is deterministic and does not depend on the order or the other hosts selected', () => {
    const hosts = fleet('node', 200);
    const split = shardHosts(hosts, { index: 2, count: 5 }).map((host) => host.name);
    expect(
      shardHosts([...hosts].reverse(), { index: 2, count: 5 })
        .map((host) => host.name)
        .sort(),
    ).to.deep.equal([...split].sort());
    // A smaller selection (a --limit) keeps each host in the same shard.
    const narrowed = hosts.filter((_, index) => index % 3 === 0);
    expect(shardHosts(narrowed, { index: 2, count: 5 }).every((host) => split.includes(host.name))).to.equal(true);
    // Fixed values: a change of the hash would re-split every fleet already split (and its merges).
    expect(['node001', 'node002', 'node003', 'node004', 'node005', 'web-a', 'web-b'].map((name) => shardOf(name, 4))).to.deep.equal([3, 1, 1, 2, 2, 4, 4]);
  });

  /** host → shard, as shardHosts splits this exact set. */
  const split = (hosts: Array<{ name: string }>, count: number) => {
    const owner = new Map<string, number>();
    for (let index = 1; index <= count; index++) for (const host of shardHosts(hosts, { index, count })) owner.set(host.name, index);
    return owner;
  };
  const movedBetween = (before: Map<string, number>, after: Map<string, number>) => [...before].filter(([name, index]) => after.has(name) && after.get(name) !== index).length;

  it('moves no other host when a host is added to or removed from 100, and about 1/N when N grows', () => {
    const hosts = fleet('node', 100);
    for (const count of [2, 4, 8]) {
      const before = split(hosts, count);
      // A new host sorting first, one in the middle, and one removed: no other host changes shard.
      expect(movedBetween(before, split([{ name: 'node000' }, ...hosts], count)), `adding a host to ${count} shards`).to.equal(0);
      expect(movedBetween(before, split([...hosts.slice(0, 50), { name: 'node050a' }, ...hosts.slice(50)], count))).to.equal(0);
      expect(
        movedBetween(
          before,
          split(
            hosts.filter((host) => host.name !== 'node037'),
            count,
          ),
        ),
        `removing a host from ${count} shards`,
      ).to.equal(0);
      // N → N+1: only the hosts whose new highest weight is the new shard move, about 1/(N+1) of them.
      const grown = split(hosts, count + 1);
      const moved = [...before].filter(([name, index]) => grown.get(name) !== index);
      expect(moved.length, `growing ${count} → ${count + 1}`).to.be.at.most(Math.ceil(100 / (count + 1)) + 12);
      expect(moved.every(([name]) => grown.get(name) === count + 1)).to.equal(true);
    }
    // What the issue rules out, for comparison: index mod N of the sorted list moves most hosts when one is added in front.
    const modSplit = (names: string[]) => new Map([...names].sort().map((name, index) => [name, (index % 4) + 1]));
    const names = hosts.map((host) => host.name);
    expect(movedBetween(modSplit(names), modSplit(['node000', ...names]))).to.be.greaterThan(90);
  });

  it('spreads hosts roughly evenly', () => {
    const hosts = fleet('node', 1000);
    for (let index = 1; index <= 4; index++) {
      const size = shardHosts(hosts, { index, count: 4 }).length;
      expect(size).to.be.within(190, 310);
    }
  });

  it('records the whole selection so parts can be matched, and an empty shard warns', () => {
    const hosts = hostsNamed(['a', 'b', 'c']);
    const digest = selectionDigest(['c', 'a', 'b']);
    expect(digest).to.equal(createHash('sha256').update('a\nb\nc').digest('hex'));
    const counts = [1, 2, 3, 4, 5, 6, 7, 8].map((index) => applyShard(hosts, { index, count: 8 }));
    for (const part of counts) expect(part.record).to.include({ count: 8, selectedHosts: 3, selectedDigest: digest, hosts: part.hosts.length });
    const empty = counts.find((part) => part.hosts.length === 0)!;
    expect(empty.warnings[0]).to.match(/holds none of the 3 selected host\(s\): nothing to do here \(exit 0\)/);
    expect(applyShard(hosts, undefined)).to.deep.equal({ hosts, warnings: [] });
  });

  it('accepts I/N with 1 ≤ I ≤ N and refuses anything else with a message naming the value', () => {
    expect(parseShard('1/4')).to.deep.equal({ index: 1, count: 4 });
    expect(parseShard('4/4')).to.deep.equal({ index: 4, count: 4 });
    expect(parseCommonOptions(['--shard', '3/8']).options.shard).to.deep.equal({ index: 3, count: 8 });
    const refused: Array<[string, RegExp]> = [
      ['0/4', /must be from 1 to 4 .*JOB_COMPLETION_INDEX \+ 1/],
      ['5/4', /must be from 1 to 4/],
      ['1/0', /number of shards N must be from 1/],
      ['x/y', /takes I\/N .*got "x\/y"/],
      ['3', /takes I\/N/],
      ['=-1/4', /takes I\/N/],
      ['1.5/4', /takes I\/N/],
      // As --forks and --timeout: no space around the value (it used to be trimmed here alone).
      [' 1/2', /takes I\/N .*got " 1\/2"/],
      ['1/2 ', /takes I\/N/],
      ['1 / 2', /takes I\/N/],
    ];
    for (const [text, message] of refused) {
      const argv = text.startsWith('=') ? [`--shard${text}`] : ['--shard', text];
      expect(() => parseCommonOptions(argv), text).to.throw(UsageError, message);
    }
  });
});
