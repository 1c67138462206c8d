import { expect } from 'chai';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InventoryError } from '../../inventory/errors.ts';
import { inventoryListJson } from '../../inventory/list.ts';
import { loadInventory } from '../../inventory/load.ts';
import { decryptVault, parseVaultEnvelope, VaultError, type VaultKeyring } from '../../inventory/vault.ts';
import { readPasswordSource } from '../../runner/cli/vault-passwords.ts';
import { s } from '../../runner/schema.ts';
import { Secret } from '../../runner/secret.ts';

// The fixtures were encrypted by the real ansible-vault (make-fixtures.sh); these tests never run Ansible.
const fixture = (name: string): string => fileURLToPath(new URL(`fixtures/vault/${name}`, import.meta.url));
const password = async (file: string, label?: string) => ({ label, password: await readPasswordSource(fixture(file), label), source: file });
const revealed = (value: unknown): string => {
  expect(value).to.be.instanceOf(Secret);
  return (value as Secret).reveal();
};
const failure = async (promise: Promise<unknown>): Promise<InventoryError> => {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).to.be.instanceOf(InventoryError);
  return error as InventoryError;
};

describe('inventory: Ansible Vault', () => {
  let keyring: VaultKeyring;
  before(async () => {
    keyring = [await password('vault-password'), await password('prod-password', 'prod')];
  });

  describe('the format', () => {
    it('reads a 1.1 payload and a 1.2 payload with its label', async () => {
      const inventory = await readFile(fixture('inventory.yaml'), 'utf8');
      const payload = inventory.slice(inventory.indexOf('$ANSIBLE_VAULT')).split('\n  children')[0]!;
      expect(parseVaultEnvelope(payload)).to.include({ version: '1.1', label: undefined });
      expect(decryptVault(payload, keyring).toString()).to.equal('Become-S3cret!');
      const groupVars = await readFile(fixture('group_vars/db.yml'), 'utf8');
      const labelled = groupVars.slice(groupVars.indexOf('$ANSIBLE_VAULT'));
      expect(parseVaultEnvelope(labelled)).to.include({ version: '1.2', label: 'prod' });
      expect(decryptVault(labelled, keyring).toString()).to.equal('db-Pa55word');
    });

    it('refuses a wrong password and an altered ciphertext (HMAC) without decrypting', async () => {
      const text = await readFile(fixture('host_vars/db1.yml'), 'utf8');
      expect(() => decryptVault(text, [{ label: undefined, password: new Secret('not it'), source: 'x' }]))
        .to.throw(VaultError)
        .with.property('kind', 'wrong-password');
      // Flip the first ciphertext byte: CTR would decrypt it to garbage with valid padding, so only the HMAC catches it.
      const tampered = tamper(text);
      expect(() => decryptVault(tampered, keyring))
        .to.throw(VaultError)
        .with.property('kind', 'wrong-password');
      expect(decryptVault(text, keyring).toString()).to.match(/^api_token: tok-/);
    });

    it('decrypts a payload of many AES blocks exactly (the CTR counter across 1,181 blocks)', async () => {
      const text = await readFile(fixture('long.vault'), 'utf8');
      const expected = `${Array.from({ length: 2000 }, (_, index) => `line ${index + 1}`).join('\n')}\n`;
      expect(decryptVault(text, keyring).toString()).to.equal(expected);
    });

    it('says a payload is malformed rather than guessing', () => {
      expect(() => decryptVault('$ANSIBLE_VAULT;1.1;AES128\n3132\n', keyring)).to.throw(/cipher "AES128" is not supported/);
      expect(() => decryptVault('$ANSIBLE_VAULT;1.1;AES256\nzz\n', keyring)).to.throw(/not hexadecimal/);
      expect(() => decryptVault('$ANSIBLE_VAULT;1.1;AES256\n3132\n', keyring)).to.throw(/salt, HMAC and ciphertext/);
    });
  });

  describe('loading an inventory', () => {
    it('decrypts !vault values in the inventory and group_vars, and a whole encrypted host_vars file, into Secrets', async () => {
      const inventory = await loadInventory(fixture('inventory.yaml'), { vault: keyring });
      const web1 = inventory.varsFor('web1');
      expect(revealed(web1.ansible_become_password)).to.equal('Become-S3cret!');
      expect(web1.ansible_host).to.equal('127.0.0.1');
      const db1 = inventory.varsFor('db1');
      expect(revealed(db1.db_password)).to.equal('db-Pa55word');
      expect(db1.db_port).to.equal(5432);
      expect(db1.plain_setting).to.equal('visible');
      // The whole file was encrypted: its strings are Secrets, its numbers stay numbers, keys stay plain.
      expect(revealed(db1.api_token)).to.equal('tok-7f3a9c1e5b2d');
      expect((db1.api_token as Secret).label).to.equal('api_token');
      expect(db1.replicas).to.equal(3);
      expect(revealed((db1.tls as Record<string, unknown>).key)).to.equal('-----BEGIN KEY-----');
    });

    it('shows decrypted values masked in inventory --list', async () => {
      const listing = inventoryListJson(await loadInventory(fixture('inventory.yaml'), { vault: keyring }));
      for (const plain of ['Become-S3cret!', 'db-Pa55word', 'tok-7f3a9c1e5b2d', 'BEGIN KEY']) expect(listing).to.not.include(plain);
      const hostvars = (JSON.parse(listing) as { _meta: { hostvars: Record<string, Record<string, unknown>> } })._meta.hostvars;
      expect(hostvars.web1!.ansible_become_password).to.equal('********');
      expect(hostvars.db1!.db_password).to.equal('********');
      expect(hostvars.db1!.plain_setting).to.equal('visible');
    });

    it('tries the password of the matching label first, then every other one (a 1.2 label is a hint, as in Ansible)', async () => {
      const unlabelled = [await password('prod-password'), await password('vault-password')];
      const inventory = await loadInventory(fixture('inventory.yaml'), { vault: unlabelled });
      expect(revealed(inventory.varsFor('db1').db_password)).to.equal('db-Pa55word');
    });

    it('names the file, the line and the variable when the password is wrong', async () => {
      const error = await failure(loadInventory(fixture('inventory.yaml'), { vault: [await password('wrong-password')] }));
      expect(error.file).to.equal(fixture('inventory.yaml'));
      expect(error.line).to.equal(5);
      expect(error.message).to.match(/inventory\.yaml:5: the vault password does not decrypt the value of ansible_become_password/);
      expect(error.message).to.not.match(/\n\s+at /);
    });

    it('names the group_vars value a password does not fit', async () => {
      const error = await failure(loadInventory(fixture('inventory.yaml'), { vault: [await password('vault-password')] }));
      expect(error.message).to.match(/group_vars\/db\.yml:2: the vault password does not decrypt the value of db_password: .*vault id is 'prod'/);
    });

    it('says how to give a password when none was given', async () => {
      const error = await failure(loadInventory(fixture('inventory.yaml')));
      expect(error.message).to.match(/inventory\.yaml:5: the value of ansible_become_password is encrypted with Ansible Vault and no vault password was given/);
      expect(error.hint).to.match(/--vault-password-file FILE.*--ask-vault-pass/);
    });

    it('refuses a tampered value in a copy of the inventory, naming its line', async () => {
      const root = await mkdtemp(join(tmpdir(), 'drover-vault-'));
      try {
        const text = await readFile(fixture('host_vars/db1.yml'), 'utf8');
        await writeFile(join(root, 'hosts.yaml'), 'all:\n  hosts:\n    db1:\n');
        await mkdir(join(root, 'host_vars'));
        await writeFile(join(root, 'host_vars', 'db1.yml'), tamper(text));
        const error = await failure(loadInventory(join(root, 'hosts.yaml'), { vault: keyring }));
        expect(error.message).to.match(/host_vars\/db1\.yml:1: the vault password does not decrypt the file/);
        expect(error.hint).to.match(/altered after encryption/);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });

    it('reads vault values in the group_vars of an INI inventory (Ansible has no inline vault in INI)', async () => {
      const inventory = await loadInventory(fixture('ini/hosts.ini'), { vault: keyring });
      expect(revealed(inventory.varsFor('web1').web_secret)).to.equal('web-Secret-42');
    });

    it('reads an inventory file that is encrypted as a whole: names plain, strings Secrets, numbers numbers', async () => {
      const inventory = await loadInventory(fixture('encrypted/hosts.yaml'), { vault: keyring });
      expect(inventory.hosts).to.deep.equal(['app1']);
      expect(inventory.varsFor('app1').ansible_port).to.equal(2222);
      expect(revealed(inventory.varsFor('app1').app_key)).to.equal('app-K3y-9d8c');
      const ini = await failure(loadInventory(fixture('encrypted/hosts.ini'), { vault: keyring }));
      expect(ini.message).to.match(/hosts\.ini: this INI inventory is encrypted as a whole with Ansible Vault, which drover reads only for YAML/);
      const error = await failure(loadInventory(fixture('encrypted/hosts.yaml')));
      expect(error.message).to.match(/hosts\.yaml:1: the file is encrypted with Ansible Vault and no vault password was given/);
    });
  });

  it('a playbook schema that wants a plain string for a vault value says to declare it s.secret()', async () => {
    const inventory = await loadInventory(fixture('inventory.yaml'), { vault: keyring });
    const vars = { db_password: inventory.varsFor('db1').db_password };
    expect(() => s.object({ db_password: s.string() }).parse(vars, 'vars')).to.throw(/vars\.db_password: expected .*got a secret \(\*{8}; declare it s\.secret\(\)/);
    expect(revealed(s.object({ db_password: s.secret() }).parse(vars, 'vars').db_password)).to.equal('db-Pa55word');
  });

  describe('password files and scripts', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'drover-vault-pass-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('reads a file with surrounding whitespace removed', async () => {
      expect(revealed(await readPasswordSource(fixture('vault-password')))).to.equal('correct horse battery staple');
    });

    it('runs an executable file and reads its stdout', async () => {
      const script = join(dir, 'pass.sh');
      await writeFile(script, '#!/bin/sh\necho "correct horse battery staple"\n');
      await chmod(script, 0o755);
      const secret = await readPasswordSource(script);
      expect(revealed(secret)).to.equal('correct horse battery staple');
      const inventory = await loadInventory(fixture('inventory.yaml'), { vault: [{ label: undefined, password: secret, source: script }, keyring[1]!] });
      expect(revealed(inventory.varsFor('web1').ansible_become_password)).to.equal('Become-S3cret!');
    });

    it('names a failing script and its status, never its output', async () => {
      const script = join(dir, 'fail.sh');
      await writeFile(script, '#!/bin/sh\necho leaked-password\nexit 3\n');
      await chmod(script, 0o755);
      const error: unknown = await readPasswordSource(script).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).to.be.instanceOf(Error);
      expect((error as Error).message).to.match(/vault password script .*fail\.sh exited with status 3/);
      expect((error as Error).message).to.not.include('leaked-password');
    });

    it('refuses an empty password and a missing file', async () => {
      const empty = join(dir, 'empty');
      await writeFile(empty, '\n  \n');
      await expectRejects(readPasswordSource(empty), /gave an empty password/);
      await expectRejects(readPasswordSource(join(dir, 'nope')), /does not exist/);
    });
  });
});

async function expectRejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).to.be.instanceOf(Error);
  expect((error as Error).message).to.match(pattern);
}

/** The same payload with the first ciphertext byte flipped (the outer and inner hex layers rebuilt). */
function tamper(text: string): string {
  const lines = text.trim().split('\n');
  const inner = Buffer.from(lines.slice(1).join(''), 'hex').toString('latin1').split('\n');
  const ciphertext = Buffer.from(inner[2]!, 'hex');
  ciphertext[0] = ciphertext[0]! ^ 0xff;
  inner[2] = ciphertext.toString('hex');
  const hex = Buffer.from(inner.join('\n'), 'latin1').toString('hex');
  return `${lines[0]}\n${hex.match(/.{1,80}/g)!.join('\n')}\n`;
}
