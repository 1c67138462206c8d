/**
 * Before a run changes anything anywhere: every template the playbook declared must parse, and every
 * top-level name it reads must be provided on every host, by the names its tasks pass or by the host's
 * inventory. A template naming a missing value then stops the run before its first task, instead of
 * failing half-way through on the host that reaches it first.
 */
import { readFileSync } from 'node:fs';
import type { DeclaredTemplate } from '../playbook.ts';
import { templateTopLevelNames, TemplateError } from '../template.ts';
import type { HostTarget } from './host-session.ts';

/** Problems found, one sentence each; empty when every template can render on every host. */
export function checkTemplates(templates: DeclaredTemplate[], runHosts: HostTarget[], select: (pattern: string) => HostTarget[]): string[] {
  const problems: string[] = [];
  for (const template of templates) {
    const hosts = template.hosts === undefined ? runHosts : select(template.hosts);
    let source: string;
    try {
      source = readFileSync(template.path, 'utf8');
    } catch (error) {
      problems.push(`template ${template.path} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      continue;
    }
    let names: ReturnType<typeof templateTopLevelNames>;
    try {
      names = templateTopLevelNames(source, template.path);
    } catch (error) {
      problems.push(error instanceof TemplateError ? error.message : String(error));
      continue;
    }
    for (const { name, line, column } of names) {
      if (template.vars.includes(name)) continue;
      const lacking = hosts.filter((host) => !Object.hasOwn(host.vars, name)).map((host) => host.name);
      if (lacking.length === 0) continue;
      problems.push(
        `${template.path}:${line}:${column + 1}: the template uses "${name}", which neither the task's declared vars (${template.vars.join(', ') || 'none'}) nor the inventory of ${lacking.length} host(s) provide: ${lacking.slice(0, 5).join(', ')}${lacking.length > 5 ? ', …' : ''}`,
      );
    }
  }
  return [...new Set(problems)];
}
