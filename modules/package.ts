/**
 * package: install, upgrade or remove packages with whatever the host uses, apt on Debian and Ubuntu,
 * dnf or yum on the RHEL family, chosen from the OS facts. The plan is the chosen module's plan, so it
 * reports, checks and fails exactly as that module does.
 *
 * Package names differ between families (`conntrack` on Debian, `conntrack-tools` on RHEL); give each
 * host the right names through inventory variables. Pinned versions are written the family's way too
 * (`kubelet=1.29.3-1.1` for apt, `kubelet-1.29.3` for dnf).
 *
 * @example
 *   await t.package('base packages', { name: ['ipvsadm', 'ipset', 'socat', 'curl'] });
 */
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, type HostContext, type Plan } from '../runner/module.ts';
import { SchemaError, s, type InputOf, type OutputOf } from '../runner/schema.ts';
import { apt } from './apt.ts';
import { osFacts } from './facts/os.ts';
import { yum } from './yum.ts';

const params = s.object({
  /** The packages, as the chosen package manager writes them (each module's own check applies). */
  name: s.array(s.string({ pattern: /^[A-Za-z0-9_][A-Za-z0-9_.+~^:=*-]*$/, what: 'a package name, optionally with a version' }), { nonEmpty: true }),
  /** `present`, `latest` or `absent`, as in the apt and yum modules. */
  state: s.enum(['present', 'absent', 'latest']).default('present'),
  /** The package manager: `auto` (from the OS facts), or `apt`, `dnf`, `yum` to force one. */
  use: s.enum(['auto', 'apt', 'dnf', 'yum']).default('auto'),
});

export type PackageParams = InputOf<typeof params>;
type Options = OutputOf<typeof params>;

/** Which module runs the packages: pure, exported for table tests. */
export function chooseBackend(use: Options['use'], packageManager: 'apt' | 'dnf' | 'yum' | 'none'): 'apt' | 'dnf' | 'yum' {
  if (use !== 'auto') return use;
  if (packageManager === 'none') {
    throw new ModuleError('package: the host has none of apt-get, dnf and yum', "install packages with the host's own tool through a command task, or set use");
  }
  return packageManager;
}

/** Parses the chosen module's parameters with its own schema, so its rules apply unchanged. */
function parseFor<T>(moduleName: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof SchemaError)
      throw new ModuleError(`package (through ${moduleName}): ${error.message}`, `write the names as ${moduleName} expects them`);
    throw error;
  }
}

export const packageModule = defineModule({
  name: 'package',
  summary: 'Install, upgrade or remove packages with apt, dnf or yum, whichever the host uses',
  params,
  async plan(p, host: HostContext): Promise<Plan> {
    const backend = chooseBackend(p.use, p.use === 'auto' ? (await host.fact(osFacts)).packageManager : 'none');
    if (backend === 'apt') {
      return apt.plan(
        parseFor('apt', () => apt.params.parse({ name: p.name, state: p.state }, 'package')),
        host,
      );
    }
    return yum.plan(
      parseFor('yum', () => yum.params.parse({ name: p.name, state: p.state, useBackend: backend }, 'package')),
      host,
    );
  },
});
