import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InventoryError } from '../../inventory/errors.ts';
import { inventoryFromText, loadInventory } from '../../inventory/load.ts';
import { firstInvalidUtf8 } from '../../inventory/utf8-text.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url));

function failure(action: () => unknown): InventoryError {
  try {
    action();
  } catch (error) {
    if (error instanceof InventoryError) return error;
    throw error;
  }
  throw new Error('expected an InventoryError, got none');
}

// file, text, expected line (undefined: the file as a whole), expected problem
type Case = readonly [string, string, number | undefined, RegExp];

const YAML_CASES: readonly Case[] = [
  ['inv.yaml', 'all:\n  hosts:\n    web1: [a,\n  vars:\n', 4, /invalid YAML/],
  ['inv.yaml', 'all:\n\thosts:\n', 2, /invalid YAML/],
  ['inv.yaml', '- web1\n- web2\n', 1, /top level .* must be a mapping of group names .* got a list/],
  ['inv.yaml', 'web1\n', 1, /top level .* got a string/],
  ['inv.yaml', '', undefined, /the inventory is empty/],
  ['inv.yaml', 'all:\n  hosts:\n    - web1\n', 3, /hosts of group 'all' must be a mapping, got a list/],
  ['inv.yaml', 'all:\n  host:\n    web1:\n', 2, /unexpected key 'host' in group 'all'/],
  ['inv.yaml', 'all:\n  children:\n    web: 3\n', 3, /group 'web' must be a mapping .* got a number/],
  ['inv.yaml', 'all:\n  children:\n    web:\n      - w1\n', 4, /group 'web' must be a mapping .* got a list/],
  ['inv.yaml', 'all:\n  hosts:\n    web1: 10.0.0.1\n', 3, /variables of host 'web1' must be a mapping/],
  ['inv.yaml', 'all:\n  vars:\n    - a\n', 3, /vars of group 'all' must be a mapping/],
  ['inv.yaml', 'all:\n  hosts:\n    a:\n    a:\n', 4, /key 'a' appears twice/],
  ['inv.yaml', 'all:\n  hosts:\n    1:\n', 3, /must be a name, got a number/],
  ['inv.yaml', 'all:\n---\nweb:\n', 2, /more than one YAML document/],
  ['inv.yaml', 'all:\n  vars:\n    p: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      6162\n', 3, /Ansible Vault/],
  ['inv.yaml', '$ANSIBLE_VAULT;1.1;AES256\n6162\n', 1, /encrypted with Ansible Vault/],
  ['inv.yaml', 'x: !custom 1\n', 1, /Unresolved tag/],
  ['inv.yaml', 'plugin: aws_ec2\n', 1, /inventory plugin configuration/],
  ['inv.yaml', 'a:\n  children:\n    b:\n      children:\n        a:\n', 5, /creates a loop/],
  ['inv.yaml', 'a:\n  hosts:\n    lab-5:\n      ansible_host: 10.0.0.5\nb:\n  hosts:\n    lab-5:\n      ansible_host: 10.0.0.6\n', 7, /host 'lab-5' is given ansible_host=10\.0\.0\.6 here, but ansible_host=10\.0\.0\.5 at inv\.yaml:3/],
  ['inv.yaml', 'all:\n  hosts:\n    "lab\\nx":\n', 3, /host name "lab\\nx" holds the control character U\+000A at position 4/],
  ['inv.yaml', 'all:\n  hosts:\n    "a\\e[2Jb":\n', 3, /host name "a\\e\[2Jb" holds the control character U\+001B/],
  ['inv.yaml', 'all:\n  hosts:\n    "a\\rb":\n', 3, /U\+000D/],
  ['inv.yaml', 'all:\n  hosts:\n    "a\\u202eb":\n', 3, /U\+202E/],
  ['inv.yaml', 'all:\n  hosts:\n    node[3:1]:\n', 3, /begin 3 is greater than end 1/],
  ['inv.yaml', 'all:\n  children:\n    g:\n      vars: { ansible_group_priority: high }\n', 4, /ansible_group_priority of group 'g' must be a whole number/],
  ['inv.yaml', 'all:\n  vars:\n    x: .inf\n', 3, /has no JSON form/],
  // A number would round it (to 9007199254740992): refused, as the INI inventory's Python literals refuse it.
  ['inv.yaml', 'all:\n  vars:\n    id: 9007199254740993\n', 3, /an integer that a number cannot hold exactly: 9007199254740993 would be read as 9007199254740992/],
  ['inv.yaml', 'all:\n  hosts:\n    h:\n      ids: [1, -0x7fffffffffffffff]\n', 4, /-0x7fffffffffffffff would be read as -9223372036854775808/],
];

const INI_CASES: readonly Case[] = [
  ['hosts.ini', '[web\nw1\n', 1, /not a valid section header/],
  ['hosts.ini', '[a]\nlab-5 ansible_host=10.0.0.5\n[b]\nlab-5 ansible_host=10.0.0.6\n', 4, /host 'lab-5' is given ansible_host=10\.0\.0\.6 here, but ansible_host=10\.0\.0\.5 at hosts\.ini:2/],
  ['hosts.ini', '[a]\nlab-5:22\n[b]\nlab-5:2222\n', 4, /ansible_port=2222 here, but ansible_port=22 at hosts\.ini:2/],
  ['hosts.ini', 'w\x1b[31mred\n', 1, /host name "w\\e\[31mred" holds the control character U\+001B/],
  ['hosts.ini', 'w0\n[web group]\n', 2, /not a valid section header/],
  ['hosts.ini', '[web:stuff]\n', 1, /unknown type 'stuff'/],
  ['hosts.ini', '[web]\nw1 foo\n', 2, /word 2 on the line of host 'w1' is not key=value/],
  ['hosts.ini', '[web]\nw1 =x\n', 2, /word 2 .* not key=value/],
  ['hosts.ini', '[web]\nw1 a="open\n', 2, /cannot be split into words: no closing double quote/],
  ['hosts.ini', '[web]\nw1\n\n[db:vars]\nx=1\n', 4, /\[db:vars\] is for group 'db', which is never declared/],
  ['hosts.ini', '[p:children]\nfirst\nmissing\n[first]\n', 3, /\[p:children\] names group 'missing', which is never declared/],
  ['hosts.ini', '[p:children]\nnot a group\n', 2, /is not a group name/],
  ['hosts.ini', '[web]\nw1\n[web:vars]\njust words\n', 4, /not a key=value assignment/],
  ['hosts.ini', '[web]\nw1\n[web:vars]\nmy var=1\n', 4, /not a key=value assignment/],
  ['hosts.ini', '[web]\nnode[5:1]\n', 2, /begin 5 is greater than end 1/],
  ['hosts.ini', '[web]\nweb1:ssh\n', 2, /not followed by a port number/],
  ['hosts.ini', '[a:children]\nb\n[b:children]\na\n', 4, /making group 'a' a child of 'b' creates a loop/],
  ['hosts.ini', '[web]\n---\n', 2, /YAML document/],
  ['hosts.ini', '[g]\nh\n[g:vars]\nansible_group_priority=high\n', 4, /ansible_group_priority/],
];

describe('inventory: malformed input names file, line, problem and what to do', () => {
  for (const [file, text, line, problem] of [...YAML_CASES, ...INI_CASES]) {
    it(`${file} ${JSON.stringify(text.slice(0, 40))} → line ${line ?? '-'}: ${problem.source}`, () => {
      const error = failure(() => inventoryFromText(text, file));
      expect(error.file).to.equal(file);
      expect(error.line).to.equal(line);
      expect(error.problem).to.match(problem);
      expect(error.hint).to.match(/\S/);
      expect(error.message.startsWith(line === undefined ? `${file}: ` : `${file}:${line}: `)).to.equal(true);
    });
  }

  it('keeps integers a number holds exactly, and a quoted one as text', () => {
    const inventory = inventoryFromText('all:\n  hosts:\n    h:\n      a: 9007199254740991\n      b: -9007199254740991\n      c: "9007199254740993"\n      d: 0x1F\n      e: 1.5e300\n', 'inv.yaml');
    expect(inventory.varsFor('h')).to.deep.include({ a: 9007199254740991, b: -9007199254740991, c: '9007199254740993', d: 31, e: 1.5e300 });
  });

  it('accepts a host listed in several groups with the same address', () => {
    const inventory = inventoryFromText('a:\n  hosts:\n    lab-5:\n      ansible_host: 10.0.0.5\nb:\n  hosts:\n    lab-5:\n      ansible_host: 10.0.0.5\n    lab-6:\n', 'inv.yaml');
    expect(inventory.varsFor('lab-5').ansible_host).to.equal('10.0.0.5');
  });

  it('never repeats a password from the line it complains about', () => {
    const ini = failure(() => inventoryFromText('[web]\nw1 ansible_password="hunter2 more\n', 'hosts.ini'));
    const words = failure(() => inventoryFromText('[web]\nw1 ansible_password=hunter2 secret\n', 'hosts.ini'));
    const yaml = failure(() => inventoryFromText('all:\n  vars:\n    ansible_password: "hunter2\n  x: [\n', 'inv.yaml'));
    for (const error of [ini, words, yaml]) {
      expect(error.message).to.not.include('hunter2');
      expect(error.message).to.not.include('secret');
    }
  });

  it('loadInventory names the real path of a malformed file', async () => {
    const path = fixture('malformed/bad-hosts.yaml');
    const error = await loadInventory(path).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).to.be.instanceOf(InventoryError);
    expect(error).to.have.property('file', path);
    expect(error).to.have.property('line', 6);
  });

  it('a byte that is not UTF-8, in the inventory or a group_vars file, is refused at its line and column, never turned into U+FFFD', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-inv-utf8-'));
    const latin1 = (text: string) => Buffer.from(text, 'latin1');
    try {
      const failureOf = (path: string) =>
        loadInventory(path).then(
          () => undefined,
          (caught: unknown) => caught as InventoryError,
        );
      writeFileSync(join(dir, 'inv.yaml'), latin1('all:\n  hosts:\n    web1:\n      motd: caf\u00e9\n'));
      const inInventory = await failureOf(join(dir, 'inv.yaml'));
      expect(inInventory).to.be.instanceOf(InventoryError);
      expect([inInventory!.line, inInventory!.problem]).to.deep.equal([4, 'the file is not UTF-8: byte 0xe9 at line 4, column 16 is not part of a UTF-8 character']);
      writeFileSync(join(dir, 'inv.yaml'), 'all:\n  hosts:\n    web1:\n');
      mkdirSync(join(dir, 'group_vars'));
      writeFileSync(join(dir, 'group_vars', 'all.yml'), latin1('greeting: gr\u00fc\u00df dich\n'));
      const inGroupVars = await failureOf(join(dir, 'inv.yaml'));
      expect([inGroupVars!.file, inGroupVars!.line]).to.deep.equal([join(dir, 'group_vars', 'all.yml'), 1]);
      expect(inGroupVars!.hint).to.match(/iconv -f latin1 -t utf-8/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('UTF-8 is told from what only looks like it: overlong forms, surrogates, truncated and stray bytes', () => {
    const at = (...bytes: number[]) => firstInvalidUtf8(Uint8Array.from(bytes))?.column;
    expect(at(0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80)).to.equal(undefined);
    expect(at(0x61, 0xc0, 0xaf)).to.equal(2);
    expect(at(0xe0, 0x80, 0xaf)).to.equal(1);
    expect(at(0xed, 0xa0, 0x80)).to.equal(1);
    expect(at(0xf4, 0x90, 0x80, 0x80)).to.equal(1);
    expect(at(0x61, 0x62, 0xe2, 0x82)).to.equal(3);
    expect(at(0x80)).to.equal(1);
    expect(firstInvalidUtf8(Buffer.from('ok\nfine\nbad \xff', 'latin1'))).to.deep.equal({ line: 3, column: 5, byte: 0xff });
  });

  it('loadInventory says so when the file does not exist', async () => {
    const error = await loadInventory(fixture('nope.yaml')).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error)
      .to.be.instanceOf(InventoryError)
      .with.property('problem')
      .that.matches(/does not exist/);
  });
});
