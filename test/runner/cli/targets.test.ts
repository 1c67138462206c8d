/**
 * Host selection as a playbook run does it (runner/cli/targets.ts): a play's pattern that selects nothing
 * is a play to skip, but one that cannot be read is an error; --limit is checked once, up front, and an
 * element of it naming no host and no group is an error, as `exec` has it. Before, a playbook run turned
 * every one of these into "selects no host" or the generic "no host matches this playbook's plays".
 */
import { expect } from 'chai';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostPatternError } from '../../../inventory/errors.ts';
import { parseCommonOptions } from '../../../runner/cli/options.ts';
import { loadTargets } from '../../../runner/cli/targets.ts';

describe('targets: invalid patterns are errors, in plays and --limit alike', () => {
  let dir: string;
  let inventory: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'drover-targets-'));
    inventory = join(dir, 'inv.yaml');
    writeFileSync(inventory, 'all:\n  hosts:\n    dead1: { ansible_host: 127.0.0.1, ansible_port: 1 }\n    dead2: { ansible_host: 127.0.0.1, ansible_port: 1 }\n  children:\n    dead: { hosts: { dead1: {}, dead2: {} } }\n    empty: {}\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const targets = (...args: string[]) => loadTargets(parseCommonOptions(['-i', inventory, '--ssh-config', inventory, ...args]).options);

  it("a play's pattern: one that selects nothing gives no hosts, one that cannot be read throws", async () => {
    const loaded = await targets();
    const select = (pattern: string) => loaded.select(pattern, { allowEmpty: true });
    expect(select('empty')).to.deep.equal([]);
    expect(select('typo')).to.deep.equal([]);
    expect(select('dead').map((host) => host.name)).to.deep.equal(['dead1', 'dead2']);
    expect(() => select('~dead(')).to.throw(HostPatternError, /'~dead\(' in host pattern '~dead\(' is not a valid regular expression/);
    expect(() => select('dead:&')).to.throw(HostPatternError, /host pattern 'dead:&' has an empty term/);
  });

  const limits: Array<[string, RegExp]> = [
    ['dead1,typo', /^--limit: 'typo' in host pattern 'dead1,typo' matches no host and no group/],
    ['~[', /^--limit: '~\[' in host pattern '~\[' is not a valid regular expression/],
    ['a:&', /^--limit: host pattern 'a:&' has an empty term/],
    ['@retry.txt', /^--limit '@retry.txt' names a file/],
  ];
  for (const [limit, says] of limits) {
    it(`--limit ${limit}: refused as the targets load, naming the element`, async () => {
      let thrown: unknown;
      await targets('--limit', limit).catch((error: unknown) => (thrown = error));
      expect(thrown).to.be.instanceOf(HostPatternError);
      expect((thrown as Error).message).to.match(says);
    });
  }

  it('--limit that is well formed narrows the selection; one that leaves a play nothing leaves it no hosts', async () => {
    const loaded = await targets('--limit', 'dead1:empty');
    expect(loaded.select('all', { allowEmpty: true }).map((host) => host.name)).to.deep.equal(['dead1']);
    expect(loaded.select('dead2', { allowEmpty: true })).to.deep.equal([]);
  });
});

describe('targets: an inventory and an ssh config given through a pipe are read once', () => {
  let dir: string;
  const writers: ChildProcess[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'drover-piped-'));
  });
  after(() => {
    for (const writer of writers) process.kill(-writer.pid!, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A named pipe that gives `text` to its first reader and nothing to later ones, as `<(cat FILE)` does. (The
   * writer waits for readers that, read once, never come: it is killed after the test.)
   */
  function pipeOf(name: string, text: string): string {
    const source = join(dir, `${name}.src`);
    const fifo = join(dir, name);
    writeFileSync(source, text);
    execFileSync('mkfifo', [fifo]);
    // After the text, every later reader gets nothing at once (each `: >` waits for one), so a second read
    // sees an empty file instead of blocking the test; the pause lets the first reader see its end first.
    writers.push(spawn('sh', ['-c', 'cat "$1" > "$2"; sleep 0.3; while :; do : > "$2"; done', 'sh', source, fifo], { stdio: 'ignore', detached: true }));
    return fifo;
  }

  it("-i PIPE: the inventory's sha256 is that of the bytes parsed, not of a second, empty read", async () => {
    const text = 'all:\n  hosts:\n    h1: { ansible_host: 127.0.0.1, ansible_port: 1 }\n';
    const loaded = await loadTargets(parseCommonOptions(['-i', pipeOf('inv.yaml', text), '--ssh-config', '/dev/null']).options);
    expect(loaded.select('all', { allowEmpty: false }).map((host) => host.name)).to.deep.equal(['h1']);
    expect(loaded.source?.sha256).to.equal(createHash('sha256').update(text).digest('hex'));
    expect(loaded.source?.sha256).not.to.equal(createHash('sha256').update('').digest('hex'));
  });

  it('--ssh-config PIPE: its settings apply (it was read once to check it, then again, empty, to use it)', async () => {
    const inventory = join(dir, 'plain.yaml');
    writeFileSync(inventory, 'all:\n  hosts:\n    h1: { ansible_host: 127.0.0.1 }\n');
    const config = pipeOf('ssh_config', 'Host 127.0.0.1\n  User alice\n  Port 2202\n');
    const loaded = await loadTargets(parseCommonOptions(['-i', inventory, '--ssh-config', config]).options);
    expect(loaded.select('h1', { allowEmpty: false })[0]!.connection).to.include({ user: 'alice', port: 2202 });
  });
});
