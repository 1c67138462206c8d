/**
 * The explicit registry of modules: the name a playbook calls (`t.sysctl`) and the CLI accepts
 * (`run module web sysctl …`) mapped to the module. test/modules/registry.test.ts checks it against the
 * files in modules/ and each module's own name, so a module cannot be forgotten or misnamed here.
 */
import type { Module } from '../runner/module.ts';
import { snakeToCamel } from '../runner/names.ts';
import { apt } from './apt.ts';
import { aptRepository } from './apt-repository.ts';
import { assert } from './assert.ts';
import { blockinfile } from './blockinfile.ts';
import { command } from './command.ts';
import { copy } from './copy.ts';
import { debug } from './debug.ts';
import { fetchModule } from './fetch.ts';
import { getUrl } from './get-url.ts';
import { file } from './file.ts';
import { firewalld } from './firewalld.ts';
import { group } from './group.ts';
import { hostname } from './hostname.ts';
import { hosts } from './hosts.ts';
import { iptables } from './iptables.ts';
import { lineinfile } from './lineinfile.ts';
import { modprobe } from './modprobe.ts';
import { mount } from './mount.ts';
import { packageModule } from './package.ts';
import { reboot } from './reboot.ts';
import { selinux } from './selinux.ts';
import { shell } from './shell.ts';
import { slurp } from './slurp.ts';
import { stat } from './stat.ts';
import { swapoff } from './swapoff.ts';
import { sysctl } from './sysctl.ts';
import { systemd } from './systemd.ts';
import { template } from './template.ts';
import { unarchive } from './unarchive.ts';
import { user } from './user.ts';
import { waitFor } from './wait-for.ts';
import { yum } from './yum.ts';
import { yumRepository } from './yum-repository.ts';

export const registry = {
  apt,
  aptRepository,
  assert,
  blockinfile,
  command,
  copy,
  debug,
  fetch: fetchModule,
  file,
  firewalld,
  getUrl,
  group,
  hostname,
  hosts,
  iptables,
  lineinfile,
  modprobe,
  mount,
  package: packageModule,
  reboot,
  selinux,
  shell,
  slurp,
  stat,
  swapoff,
  sysctl,
  systemd,
  template,
  unarchive,
  user,
  waitFor,
  yum,
  yumRepository,
} satisfies Record<string, Module>;

export type Registry = typeof registry;

/** Looks a module up by the name a person typed (camelCase or snake_case). */
export function findModule(name: string): Module | undefined {
  const camel = snakeToCamel(name);
  return Object.hasOwn(registry, camel) ? (registry as Record<string, Module>)[camel] : undefined;
}
