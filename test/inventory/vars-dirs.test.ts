import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InventoryError } from '../../inventory/errors.ts';
import { loadInventory } from '../../inventory/load.ts';
import { Secret } from '../../runner/secret.ts';
import { removeTree, writeTree } from './tree.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url));

describe('inventory: group_vars/ and host_vars/ beside the inventory', () => {
  it('reads NAME, NAME.yml, NAME.yaml and NAME/ directories, skipping hidden, backup and other files', async () => {
    const inventory = await loadInventory(fixture('dirs/inventory.yaml'));
    const cp1 = inventory.varsFor('cp1');
    expect(cp1).to.deep.include({
      source: 'inventory',
      from_all: 'group_vars/all (no extension)',
      net: '10-net',
      kube: '20-kube',
      nested: 'sub/30',
      // Directory files merge in name order: 10-net.yml, 20-kube.yaml, sub/30.yml.
      order: 30,
      role: 'control (yml)',
    });
    expect(cp1).to.not.have.any.keys('read_hidden', 'read_backup', 'read_txt');
    expect(inventory.varsFor('node1.example.com')).to.deep.include({ fqdn: true, order: 30 });
  });

  it('makes passwords from group_vars Secrets', async () => {
    const inventory = await loadInventory(fixture('dirs/inventory.yaml'));
    const password = inventory.varsFor('cp1').ansible_become_password;
    expect(password).to.be.instanceOf(Secret);
    expect(password instanceof Secret && password.reveal()).to.equal('s3cret');
  });

  it('gives the implicit localhost its host_vars and all vars, and warns about files matching nothing', async () => {
    const inventory = await loadInventory(fixture('dirs/inventory.yaml'));
    expect(inventory.hosts).to.not.include('localhost');
    expect(inventory.varsFor('localhost')).to.deep.include({
      source: 'inventory',
      from_all: 'group_vars/all (no extension)',
      ansible_connection: 'local',
      here: 'implicit localhost',
    });
    expect(inventory.warnings).to.have.length(1);
    expect(inventory.warnings[0]).to.match(/host_vars\/cp2\.yml matches no host in the inventory/);
  });

  describe('errors', () => {
    const roots: string[] = [];
    after(async () => {
      for (const root of roots) await removeTree(root);
    });
    const failure = async (files: Record<string, string>): Promise<InventoryError> => {
      const root = await writeTree(files);
      roots.push(root);
      const error: unknown = await loadInventory(join(root, 'hosts.ini')).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      if (!(error instanceof InventoryError)) throw new Error(`expected an InventoryError, got ${String(error)}`);
      return error;
    };

    it('names the group_vars file and line of malformed YAML', async () => {
      const error = await failure({ 'hosts.ini': '[web]\nw1\n', 'group_vars/web.yml': 'a: 1\nb: [2,\nc: 3\n' });
      expect(error.file).to.match(/group_vars\/web\.yml$/);
      expect(error.line).to.equal(3);
    });

    it('refuses a vars file that is not a mapping', async () => {
      const error = await failure({ 'hosts.ini': '[web]\nw1\n', 'host_vars/w1.yml': '# list\n- a\n- b\n' });
      expect(error.file).to.match(/host_vars\/w1\.yml$/);
      expect(error.line).to.equal(2);
      expect(error.problem).to.match(/must be a mapping of names to values, got a list/);
    });
  });

  it('warns when group_vars is a file rather than a directory', async () => {
    const root = await writeTree({ 'hosts.ini': '[web]\nw1\n', group_vars: 'x: 1\n' });
    try {
      const inventory = await loadInventory(join(root, 'hosts.ini'));
      expect(inventory.warnings.join('\n')).to.match(/group_vars is not a directory/);
      expect(inventory.varsFor('w1')).to.deep.equal({});
    } finally {
      await removeTree(root);
    }
  });

  describe('links and files that are not regular', () => {
    /** The inventory's load error (or what it loaded), within 5 s: reading a FIFO used to wait for ever. */
    async function load(prepare: (root: string) => void): Promise<unknown> {
      const root = await writeTree({ 'hosts.ini': '[web]\nw1\n', 'group_vars/web/a.yml': 'a: 1\n' });
      try {
        prepare(root);
        const timeout = new Promise((resolve) => setTimeout(() => resolve('still reading after 5 s'), 5000).unref());
        return await Promise.race([loadInventory(join(root, 'hosts.ini')).catch((error: unknown) => error), timeout]);
      } finally {
        await removeTree(root);
      }
    }

    const table: Array<[string, (root: string) => void, RegExp, RegExp]> = [
      ['a dangling link in a group directory', (root) => symlinkSync('/nonexistent', join(root, 'group_vars/web/b.yml')), /group_vars\/web\/b\.yml$/, /is a symbolic link to \/nonexistent, which does not exist/],
      ['a link to the directory holding it', (root) => symlinkSync('.', join(root, 'group_vars/web/loop')), /group_vars\/web\/loop$/, /a symbolic link loop/],
      ['a link to itself', (root) => symlinkSync('self.yml', join(root, 'group_vars/web/self.yml')), /group_vars\/web\/self\.yml$/, /is a symbolic link that loops \(to self\.yml\)/],
      [
        'a dangling group_vars/NAME.yml',
        (root) => {
          execFileSync('rm', ['-r', join(root, 'group_vars/web')]);
          symlinkSync('/nonexistent', join(root, 'group_vars/web.yml'));
        },
        /group_vars\/web\.yml$/,
        /which does not exist/,
      ],
      [
        'a dangling host_vars/NAME',
        (root) => {
          execFileSync('mkdir', [join(root, 'host_vars')]);
          symlinkSync('/nonexistent', join(root, 'host_vars/w1'));
        },
        /host_vars\/w1$/,
        /which does not exist/,
      ],
      [
        'a FIFO as group_vars/NAME.yml',
        (root) => {
          execFileSync('rm', ['-r', join(root, 'group_vars/web')]);
          execFileSync('mkfifo', [join(root, 'group_vars/web.yml')]);
        },
        /group_vars\/web\.yml$/,
        /is a named pipe \(FIFO\), not a regular file/,
      ],
      ['a FIFO in a group directory', (root) => execFileSync('mkfifo', [join(root, 'group_vars/web/p.yml')]), /group_vars\/web\/p\.yml$/, /is a named pipe \(FIFO\)/],
    ];
    for (const [what, prepare, file, problem] of table) {
      it(`refuses ${what}, naming it`, async () => {
        const error = await load(prepare);
        expect(error, String(error)).to.be.instanceOf(InventoryError);
        expect((error as InventoryError).file).to.match(file);
        expect((error as InventoryError).problem).to.match(problem);
      });
    }

    it('follows links that lead to files and directories, and ignores a dangling link no variables file could be', async () => {
      const loaded = await load((root) => {
        execFileSync('mkdir', [join(root, 'shared')]);
        execFileSync('sh', ['-c', `echo 'b: 2' > '${join(root, 'shared/b.yml')}'`]);
        symlinkSync('../../shared', join(root, 'group_vars/web/shared'));
        symlinkSync('/nonexistent', join(root, 'group_vars/web/notes.txt'));
      });
      expect(loaded).to.not.be.instanceOf(Error);
      expect((loaded as Awaited<ReturnType<typeof loadInventory>>).varsFor('w1')).to.deep.include({ a: 1, b: 2 });
    });
  });
});
