/**
 * A rehearsal of iptables commands in a throwaway network namespace: read-only for the host, exact in
 * its result. The table's current rules (all tables when a save file is to be predicted) and any ipsets
 * are restored into a new namespace made with `unshare -n`, the planned commands run there, and the chain
 * (and the whole ruleset) is listed by the host's own iptables. The iptables module uses it so that a dry
 * run shows iptables' canonical form of a new rule, catches an invalid rule in a chain that does not exist
 * yet, and predicts a saved ruleset byte for byte. The namespace disappears with the process.
 */
import { Script, sh } from '../../runner/command.ts';
import { probeSections } from '../lib/probe-output.ts';
import { normaliseSave } from './iptables.ts';

/** What a rehearsal produced. */
export type Rehearsal =
  /** `table`: the whole table after the commands, in iptables-save form (no counters, no comments). */
  | { ok: true; chain: string | null; save?: string; table?: string }
  | { ok: false; stage: 'unavailable' | 'restore'; message: string }
  | { ok: false; stage: 'command'; index: number; message: string };

export interface RehearsalTarget {
  /** `iptables` or `ip6tables`, and their -save and -restore companions. */
  iptables: string;
  save: string;
  restore: string;
  table: string;
  chain: string;
}

/**
 * The shell lines that fill "$d/predicted" with a table as a dry run's earlier tasks would leave it; the
 * namespace restores it over the host's rules (iptables-restore replaces the tables its input names).
 */
export function predictedTableFile(rules: string | undefined): Script {
  return rules === undefined ? sh`: > "$d/predicted"` : sh`printf '%s' ${Buffer.from(rules).toString('base64')} | base64 -d > "$d/predicted"`;
}

/** Inside the namespace: the host's rules, then the predicted table over them. */
function restoreScript(target: Pick<RehearsalTarget, 'restore'>): Script {
  return sh`${target.restore} < "$d/rules" 2>"$d/err" || { echo @@restore-failed; cat "$d/err"; exit 0; }
if [ -s "$d/predicted" ]; then ${target.restore} < "$d/predicted" 2>"$d/err" || { echo @@restore-failed; cat "$d/err"; exit 0; }; fi`;
}

/**
 * The script: `commands` run in order inside the namespace, each in a subshell under `set -e`; the first
 * one that fails is reported by its index with its stderr. Temporary files live in a private mktemp
 * directory, removed on exit. `predicted`: the table as the dry run's earlier tasks would leave it.
 */
export function rehearsalScript(target: RehearsalTarget, commands: Script[], withSave: boolean, predicted?: string): Script {
  const steps = commands.map((command, index) => sh`( set -e; ${command} ) 2>"$d/err" || { echo ${`@@command-failed ${index}`}; cat "$d/err"; exit 0; }`);
  const inner = Script.join([
    sh`d=$1
if [ -s "$d/sets" ]; then ipset restore < "$d/sets" 2>"$d/err" || { echo @@restore-failed; cat "$d/err"; exit 0; }; fi
${restoreScript(target)}`,
    ...steps,
    sh`echo @@chain
${target.iptables} -w -t ${target.table} -S ${target.chain} 2>/dev/null || echo @@chain-absent
echo @@table
${target.save} -t ${target.table}`,
    ...(withSave
      ? [
          sh`echo @@save
${target.save}`,
        ]
      : []),
  ]);
  const saveArgs = withSave ? [] : ['-t', target.table];
  return sh`d=$(mktemp -d)
trap 'rm -rf -- "$d"' EXIT
${target.save} ${saveArgs} > "$d/rules"
${predictedTableFile(predicted)}
if command -v ipset >/dev/null 2>&1; then ipset save > "$d/sets" 2>/dev/null || : > "$d/sets"; fi
if command -v unshare >/dev/null 2>&1 && unshare -n true 2>"$d/err"; then
  unshare -n -- /bin/sh -c ${inner.text} drover-rehearsal "$d"
else echo @@unavailable; cat "$d/err" 2>/dev/null || true; fi`;
}

/** Parses the rehearsal's output. Pure. */
export function parseRehearsal(stdout: string): Rehearsal {
  const found = probeSections(stdout);
  if (found.has('unavailable')) return { ok: false, stage: 'unavailable', message: found.get('unavailable')!.trim() || 'unshare -n is not available' };
  if (found.has('restore-failed')) return { ok: false, stage: 'restore', message: found.get('restore-failed')!.trim() };
  for (const [key, text] of found) {
    const match = /^command-failed (\d+)$/.exec(key);
    if (match) return { ok: false, stage: 'command', index: Number(match[1]), message: text.trim() };
  }
  const chain = found.get('chain');
  if (chain === undefined) return { ok: false, stage: 'unavailable', message: `the rehearsal printed nothing usable: ${JSON.stringify(stdout.slice(0, 300))}` };
  const listed = found.has('chain-absent') || chain.trim() === '' ? null : `${chain.trim()}\n`;
  const result: Rehearsal = { ok: true, chain: listed };
  if (found.has('save')) result.save = normaliseSave(found.get('save')!);
  if (found.has('table')) result.table = normaliseSave(found.get('table')!);
  return result;
}
