/**
 * Helpers shared by the tests of the file and command modules (copy, template, file, lineinfile,
 * blockinfile, command, shell) on lab hosts: a scratch directory per suite, reading a file back
 * independently of drover, snapshots for "check mode changed nothing", and the hostile strings.
 */
import { expect } from 'chai';
import { labTargets, onHost, type LabTarget } from './targets.ts';

/** Quotes a path for the scripts these helpers send with the plain OpenSSH client. */
export function q(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * For a suite's `before` (pass its `this`): the first lab host, with `root` emptied and created and any
 * `alsoRemove` paths removed. Pair it with `removeScratchDir` in `after`.
 */
export async function scratchDirTarget(context: Mocha.Context, root: string, alsoRemove: string[] = []): Promise<LabTarget> {
  const [target] = await labTargets(context, 1);
  if (!target) throw new Error('the lab gave no host');
  await onHost(target, `rm -rf ${[root, ...alsoRemove].join(' ')} && mkdir -p ${root}`);
  return target;
}

/** For a suite's `after`: removes `root`, if `before` got as far as a target. */
export async function removeScratchDir(target: LabTarget | undefined, root: string): Promise<void> {
  if (target) await onHost(target, `rm -rf ${root}`);
}

/** Every entry under `root` with type, mode, owner, size, link target and content hash. */
export async function snapshot(target: LabTarget, root: string): Promise<string> {
  const out = await onHost(target, `cd ${q(root)} && find . -printf '%p|%y|%m|%u|%g|%s|%l\\n' | sort && find . -type f -exec sha256sum {} + | sort`);
  expect(out.exitCode, out.stderr).to.equal(0);
  return out.stdout;
}

/** A file's exact content and `stat -c '%a %U %G'`, read with OpenSSH. */
export async function readBack(target: LabTarget, path: string): Promise<{ content: string; stat: string }> {
  const out = await onHost(target, `base64 -w0 < ${q(path)}; echo; stat -c '%a %U %G' -- ${q(path)}`);
  expect(out.exitCode, `${path}: ${out.stderr}`).to.equal(0);
  const [content, stat] = out.stdout.split('\n');
  return { content: Buffer.from(content!, 'base64').toString(), stat: stat! };
}

/** Writes a file on the host with OpenSSH (content on stdin). */
export async function seedFile(target: LabTarget, path: string, content: string, mode = '0644'): Promise<void> {
  const out = await onHost(target, `cat > ${q(path)} && chmod ${mode} ${q(path)}`, content);
  expect(out.exitCode, out.stderr).to.equal(0);
}

/** Strings that would do harm if any layer handed them to a shell unquoted. */
export const HOSTILE = ['; rm -rf /tmp/drover-hostile-canary', '$(touch /tmp/pwned)', '`touch /tmp/pwned`', `it's "quoted"`, 'two\nlines', 'ünïcødé ✓', '-n', '*', '$HOME ${PATH}'];

/** Fails when any hostile string got executed (it would have created one of these). */
export async function expectNoCanary(target: LabTarget): Promise<void> {
  const out = await onHost(target, 'ls -d /tmp/pwned /tmp/drover-hostile-canary 2>/dev/null || true');
  expect(out.stdout, 'a hostile string was executed on the host').to.equal('');
}
