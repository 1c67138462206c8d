/**
 * iptables: one rule present or absent in a table and chain, chain creation and deletion, a built-in
 * chain's policy, flushing one chain on request, and saving the ruleset to the distribution's file.
 *
 * @example
 *   await t.iptables('api server', { chain: 'INPUT', protocol: 'tcp', destinationPort: 6443, ctstate: ['NEW'], jump: 'ACCEPT', comment: 'kube-apiserver' });
 *   await t.iptables('etcd', { chain: 'INPUT', protocol: 'tcp', destinationPort: ['2379:2380', 10250], jump: 'ACCEPT', save: true });
 *   await t.iptables('own chain', { chain: 'LAB-IN', chainManagement: true });
 *   await t.iptables('nat out', { table: 'nat', chain: 'POSTROUTING', source: '10.244.0.0/16', outInterface: 'eth0', jump: 'MASQUERADE' });
 *
 * How it stays exact and safe:
 *   - The rule is an argv built by the pure `ruleSpec` (params → argv) and quoted by the `sh` template.
 *   - Presence is asked with `iptables -C`, so a re-run never adds a duplicate. A rule found anywhere in
 *     the chain counts as present (an insert does not move it); `absent` deletes every copy. A rule that
 *     iptables refuses to parse (a jump to a chain that no longer exists) fails a `present` task while
 *     planning, and satisfies an `absent` one (it cannot be in the chain; the reason says why).
 *   - Nothing is flushed unless `flush: true` names the chain; whole tables are never flushed (kube-proxy,
 *     docker and others own chains there).
 *   - The diff shows the chain before and after as `iptables -S CHAIN` prints it. "After" comes from a
 *     rehearsal: the table's current rules are restored into a throwaway network namespace
 *     (`unshare -n`), the planned commands run there, and the result is listed — so the dry run shows
 *     iptables' own canonical form, catches an invalid rule in a chain that does not exist yet, and,
 *     with `save`, predicts the saved file byte for byte. The host's own rules are untouched.
 *     Where no namespace can be made the diff shows the rule as drover writes it instead. See
 *     facts/iptables-rehearsal.ts.
 *   - Backends: whatever `iptables` the host's alternatives select (legacy or nf_tables, see
 *     facts/iptables.ts); the backend is named in the plan's reason. Calls use `-w` (wait for the
 *     xtables lock) so a concurrent kube-proxy does not make them fail.
 *   - `save: true` writes `iptables-save` output (without its timestamp comments and counters)
 *     atomically to /etc/iptables/rules.v4|v6 (Debian family) or /etc/sysconfig/iptables|ip6tables (RHEL
 *     family), or `saveFile`. Loading it at boot needs netfilter-persistent or iptables-services.
 */
import { Script, sh, type ShellValue } from '../runner/command.ts';
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, noChange, type Change, type HostContext, type Plan, type ProbeOutput } from '../runner/module.ts';
import type { Effect } from '../runner/predicted-state.ts';
import { s, type InputOf, type OutputOf } from '../runner/schema.ts';
import { hostPath } from './lib/host-path.ts';
import { planFileContentFrom } from './lib/file-content.ts';
import { fileStateScript, parseFileState, type FileState } from './facts/file-state.ts';
import {
  chainListing,
  normaliseSave,
  parseIptablesListing,
  parseIptablesVersion,
  referencesTo,
  type IptablesChain,
  type IptablesVersion,
} from './facts/iptables.ts';
import { parseRehearsal, predictedTableFile, rehearsalScript, type Rehearsal } from './facts/iptables-rehearsal.ts';
import { probeSections as sections } from './lib/probe-output.ts';
import { osFacts } from './facts/os.ts';

/** Built-in chains of each table: they always exist, have a policy, and cannot be created or deleted. */
export const BUILTIN_CHAINS: Record<string, readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

const CHAIN = /^[A-Za-z0-9_][A-Za-z0-9_.:+-]{0,27}$/;
const NEGATABLE = (body: string) => new RegExp(`^(!\\s*)?${body}$`);
const IPV4 = String.raw`\d{1,3}(\.\d{1,3}){3}(/(\d{1,2}|\d{1,3}(\.\d{1,3}){3}))?`;
const IPV6 = String.raw`[0-9A-Fa-f]*:[0-9A-Fa-f:.]*(/\d{1,3})?`;
const PORT = String.raw`\d{1,5}(:\d{1,5})?`;
const NO_CONTROL = /^[^\x00-\x1f\x7f]*$/;

const portSchema = s.union<number | string, number | string>(
  s.int({ min: 0, max: 65535 }),
  s.string({ pattern: new RegExp(`^${PORT}(,${PORT})*$`), what: 'a port (22), a range (1000:2000) or a list (80,443)' }),
);
const portsSchema = s.union<number | string | Array<number | string>, number | string | Array<number | string>>(
  portSchema,
  s.array(portSchema, { nonEmpty: true }),
);

const params = s
  .object({
    /** Table: filter (default), nat, mangle, raw, security. */
    table: s.enum(['filter', 'nat', 'mangle', 'raw', 'security'] as const).default('filter'),
    /** Chain: a built-in one (INPUT, FORWARD, POSTROUTING…) or your own (up to 28 characters). */
    chain: s.string({ pattern: CHAIN, what: 'a chain name (letters, digits, _ . : + -, up to 28 characters)' }),
    /** present (default) or absent. */
    state: s.enum(['present', 'absent'] as const).default('present'),
    /** Where a new rule goes: append (end of chain, default) or insert (at ruleNum). */
    action: s.enum(['append', 'insert'] as const).default('append'),
    /** Position for action insert, 1 = first (default 1). */
    ruleNum: s.int({ min: 1 }).optional(),
    /** ipv4 (iptables, default) or ipv6 (ip6tables). */
    ipVersion: s.enum(['ipv4', 'ipv6'] as const).default('ipv4'),
    /** Protocol: tcp, udp, icmp, ipv6-icmp, sctp, all, or a number; `!tcp` negates. */
    protocol: s.string({ pattern: NEGATABLE('[a-z0-9-]+'), what: 'a protocol name or number like tcp, optionally negated (!tcp)' }).optional(),
    /** Source address or network (`10.0.0.0/8`); `!` before it negates. */
    source: s.string({ pattern: NEGATABLE(`(${IPV4}|${IPV6})`), what: 'an IP address or network like 10.0.0.0/8, optionally negated' }).optional(),
    /** Destination address or network; `!` before it negates. */
    destination: s.string({ pattern: NEGATABLE(`(${IPV4}|${IPV6})`), what: 'an IP address or network like 10.0.0.0/8, optionally negated' }).optional(),
    /** Incoming interface (`eth0`, `veth+` for a prefix); `!` negates. */
    inInterface: s.string({ pattern: NEGATABLE('[A-Za-z0-9_.:@-]{1,15}\\+?'), what: 'an interface name like eth0 or veth+' }).optional(),
    /** Outgoing interface; `!` negates. */
    outInterface: s.string({ pattern: NEGATABLE('[A-Za-z0-9_.:@-]{1,15}\\+?'), what: 'an interface name like eth0 or veth+' }).optional(),
    /** Source port: 22, "1000:2000", or a list (several → the multiport match). Needs protocol tcp/udp/sctp/dccp. */
    sourcePort: portsSchema.optional(),
    /** Destination port: 6443, "30000:32767", or a list such as [6443, "2379:2380", 10250] (→ multiport). */
    destinationPort: portsSchema.optional(),
    /** Connection tracking states (`-m conntrack --ctstate`). */
    ctstate: s.array(s.enum(['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED', 'SNAT', 'DNAT'] as const), { nonEmpty: true }).optional(),
    /** ICMP type (`echo-request`, `8`) with protocol icmp, or ICMPv6 type with ipv6-icmp. */
    icmpType: s.string({ pattern: /^[a-z0-9/-]+$/, what: 'an ICMP type like echo-request' }).optional(),
    /** Rate limit (`-m limit --limit`), e.g. `5/min`. */
    limit: s.string({ pattern: /^\d+\/(second|sec|s|minute|min|m|hour|h|day|d)$/, what: 'a rate like 5/min' }).optional(),
    /** Burst for limit (`--limit-burst`). */
    limitBurst: s.int({ min: 1 }).optional(),
    /** Further match modules to load (`-m NAME`) before the options above. */
    match: s.array(s.string({ pattern: /^[a-z0-9_-]+$/, what: 'a match module name like tcp or state' })).optional(),
    /** A comment stored with the rule (`-m comment`), up to 256 characters, one line. */
    comment: s
      .string({ pattern: NO_CONTROL, what: 'one line of text' })
      .refine((text) => (text.length > 256 ? 'a rule comment holds at most 256 characters' : undefined))
      .optional(),
    /** Target: ACCEPT, DROP, RETURN, REJECT, LOG, DNAT, SNAT, MASQUERADE, REDIRECT, … or a chain to jump to. */
    jump: s.string({ pattern: CHAIN, what: 'a target like ACCEPT or a chain name' }).optional(),
    /** A chain to go to (`-g`): unlike jump, its RETURN does not come back here. */
    goto: s.string({ pattern: CHAIN, what: 'a chain name' }).optional(),
    /** REJECT's answer (`--reject-with`), e.g. `tcp-reset`, `icmp-port-unreachable`; implies jump REJECT. */
    rejectWith: s.string({ pattern: /^[a-z0-9-]+$/, what: 'a reject type like tcp-reset' }).optional(),
    /** LOG's prefix (`--log-prefix`), up to 29 characters. */
    logPrefix: s
      .string({ pattern: NO_CONTROL, what: 'one line of text' })
      .refine((text) => (text.length > 29 ? 'a log prefix holds at most 29 characters' : undefined))
      .optional(),
    /** LOG's syslog level: a name (warning) or 0-7. */
    logLevel: s.enum(['emerg', 'alert', 'crit', 'error', 'warning', 'notice', 'info', 'debug', '0', '1', '2', '3', '4', '5', '6', '7'] as const).optional(),
    /** DNAT's `--to-destination`, e.g. `10.0.0.5:8080`. */
    toDestination: s.string({ pattern: /^[0-9A-Fa-f.:[\]-]+$/, what: 'an address[:port] like 10.0.0.5:8080' }).optional(),
    /** SNAT's `--to-source`, e.g. `192.0.2.1`. */
    toSource: s.string({ pattern: /^[0-9A-Fa-f.:[\]-]+$/, what: 'an address[:port] like 192.0.2.1' }).optional(),
    /** REDIRECT's or MASQUERADE's `--to-ports`, e.g. `8080` or `1000-2000`. */
    toPorts: s.string({ pattern: /^\d{1,5}(-\d{1,5})?$/, what: 'a port or range like 8080 or 1000-2000' }).optional(),
    /** Policy of a built-in chain: ACCEPT or DROP. Set in a task of its own (no rule options). */
    policy: s.enum(['ACCEPT', 'DROP'] as const).optional(),
    /** Create the chain when missing (state present); delete it when no rule options are given (state absent). */
    chainManagement: s.boolean().default(false),
    /** Remove every rule of this chain (only this chain; never a whole table). */
    flush: s.boolean().default(false),
    /** Save the ruleset of this IP version to the distribution's file after the change. */
    save: s.boolean().default(false),
    /** Where to save instead of the distribution's default. */
    saveFile: hostPath({ noControl: true }).optional(),
  })
  .rule((p) => (p.ruleNum !== undefined && p.action !== 'insert' ? 'ruleNum is the position for action insert' : undefined))
  .rule((p) => (p.jump !== undefined && p.goto !== undefined ? 'give jump or goto, not both' : undefined))
  .rule((p) => {
    const proto = p.protocol?.trim();
    if ((p.sourcePort !== undefined || p.destinationPort !== undefined) && !['tcp', 'udp', 'sctp', 'dccp', 'udplite'].includes(proto ?? '')) {
      return 'sourcePort and destinationPort need protocol tcp, udp, sctp, dccp or udplite';
    }
    if (p.icmpType !== undefined && !['icmp', 'ipv6-icmp', 'icmpv6'].includes(proto ?? '')) return 'icmpType needs protocol icmp (ipv4) or ipv6-icmp (ipv6)';
    return undefined;
  })
  .rule((p) => {
    const target = targetOf(p);
    if (p.rejectWith !== undefined && target !== 'REJECT') return 'rejectWith belongs to jump REJECT';
    if ((p.logPrefix !== undefined || p.logLevel !== undefined) && target !== 'LOG') return 'logPrefix and logLevel belong to jump LOG';
    if (p.toDestination !== undefined && target !== 'DNAT') return 'toDestination belongs to jump DNAT';
    if (p.toSource !== undefined && target !== 'SNAT') return 'toSource belongs to jump SNAT';
    if (p.toPorts !== undefined && target !== 'REDIRECT' && target !== 'MASQUERADE') return 'toPorts belongs to jump REDIRECT or MASQUERADE';
    if (p.limitBurst !== undefined && p.limit === undefined) return 'limitBurst needs limit';
    return undefined;
  })
  .rule((p) => {
    const family = (address: string | undefined) => (address === undefined ? undefined : address.includes(':') ? 'ipv6' : 'ipv4');
    for (const [name, value] of [
      ['source', p.source],
      ['destination', p.destination],
    ] as const) {
      const found = family(value);
      if (found && found !== p.ipVersion) return `${name} ${value} is an ${found} address but ipVersion is ${p.ipVersion}`;
    }
    return undefined;
  })
  .rule((p) => {
    const hasRule = ruleSpec(p).length > 0;
    const builtin = BUILTIN_CHAINS[p.table]!.includes(p.chain);
    if (p.policy !== undefined) {
      if (hasRule || p.flush || p.chainManagement)
        return 'policy applies to the whole chain: set it in a task of its own, without rule options, flush or chainManagement';
      if (!builtin) return `only built-in chains have a policy; ${p.chain} is not one of ${p.table}'s (${BUILTIN_CHAINS[p.table]!.join(', ')})`;
      if (p.state === 'absent') return 'a policy cannot be absent; give ACCEPT or DROP';
    }
    if (p.flush && hasRule) return 'flush removes every rule of the chain; give it in a task of its own, without rule options';
    if (p.chainManagement && builtin) return `${p.chain} is a built-in chain of ${p.table}; chainManagement is for your own chains`;
    if (!hasRule && p.policy === undefined && !p.flush && !p.chainManagement) {
      return 'nothing asked: give a rule (jump, goto or a match), a policy, flush or chainManagement';
    }
    return undefined;
  });

export type IptablesParams = InputOf<typeof params>;
type Params = OutputOf<typeof params>;

/** The target a rule will have: jump, or REJECT implied by rejectWith (as Ansible does). */
function targetOf(p: Pick<Params, 'jump' | 'rejectWith'>): string | undefined {
  return p.jump ?? (p.rejectWith !== undefined ? 'REJECT' : undefined);
}

/** The options that make up a rule (everything after `-A CHAIN`). */
type RuleParams = Pick<
  Params,
  | 'ipVersion'
  | 'protocol'
  | 'source'
  | 'destination'
  | 'inInterface'
  | 'outInterface'
  | 'sourcePort'
  | 'destinationPort'
  | 'ctstate'
  | 'icmpType'
  | 'limit'
  | 'limitBurst'
  | 'match'
  | 'comment'
  | 'jump'
  | 'goto'
  | 'rejectWith'
  | 'logPrefix'
  | 'logLevel'
  | 'toDestination'
  | 'toSource'
  | 'toPorts'
>;

/** A port parameter's value: 22, "1000:2000", "80,443" or a list of those. */
export type PortValue = number | string | Array<number | string>;

/** Port values as iptables tokens: `[22]`, `["1000:2000"]`, `[80, "443"]` or `"80,443"` → `['80','443']`. */
export function portTokens(value: PortValue): string[] {
  const list = Array.isArray(value) ? value : [value];
  return list.flatMap((item) => String(item).split(',')).map((token) => token.trim());
}

/**
 * The rule as an argv, in the order iptables itself lists options: addresses, interfaces, protocol,
 * extra matches, ports, conntrack, limit, comment, target and its options. Pure; table-tested.
 */
export function ruleSpec(p: RuleParams): string[] {
  const argv: string[] = [];
  const negatable = (flag: string, value: string | undefined) => {
    if (value === undefined) return;
    const negated = value.startsWith('!');
    argv.push(...(negated ? ['!', flag, value.slice(1).trim()] : [flag, value]));
  };
  negatable('-s', p.source);
  negatable('-d', p.destination);
  negatable('-i', p.inInterface);
  negatable('-o', p.outInterface);
  negatable('-p', p.protocol);
  // Modules this function loads itself are skipped from `match`, so their options attach to one instance.
  const implied = new Set(['multiport', 'conntrack', 'limit', 'comment']);
  for (const name of p.match ?? []) if (!implied.has(name)) argv.push('-m', name);
  for (const [value, single, multi] of [
    [p.sourcePort, '--sport', '--sports'],
    [p.destinationPort, '--dport', '--dports'],
  ] as const) {
    if (value === undefined) continue;
    const tokens = portTokens(value);
    argv.push(...(tokens.length === 1 ? [single, tokens[0]!] : ['-m', 'multiport', multi, tokens.join(',')]));
  }
  if (p.icmpType !== undefined) argv.push(p.ipVersion === 'ipv6' ? '--icmpv6-type' : '--icmp-type', p.icmpType);
  if (p.ctstate !== undefined) argv.push('-m', 'conntrack', '--ctstate', p.ctstate.join(','));
  if (p.limit !== undefined) {
    argv.push('-m', 'limit', '--limit', p.limit);
    if (p.limitBurst !== undefined) argv.push('--limit-burst', String(p.limitBurst));
  }
  if (p.comment !== undefined) argv.push('-m', 'comment', '--comment', p.comment);
  const target = targetOf(p);
  if (target !== undefined) argv.push('-j', target);
  if (p.goto !== undefined) argv.push('-g', p.goto);
  if (p.rejectWith !== undefined) argv.push('--reject-with', p.rejectWith);
  if (p.logPrefix !== undefined) argv.push('--log-prefix', p.logPrefix);
  if (p.logLevel !== undefined) argv.push('--log-level', p.logLevel);
  if (p.toDestination !== undefined) argv.push('--to-destination', p.toDestination);
  if (p.toSource !== undefined) argv.push('--to-source', p.toSource);
  if (p.toPorts !== undefined) argv.push('--to-ports', p.toPorts);
  return argv;
}

/** Checks multiport's limit of 15 ports (a range counts as two), which iptables reports obscurely. */
export function multiportProblem(p: { sourcePort?: PortValue; destinationPort?: PortValue }): string | undefined {
  for (const value of [p.sourcePort, p.destinationPort]) {
    if (value === undefined) continue;
    const tokens = portTokens(value);
    const slots = tokens.reduce((sum, token) => sum + (token.includes(':') ? 2 : 1), 0);
    if (tokens.length > 1 && slots > 15) return `a port list holds at most 15 ports (a range counts as 2); got ${slots}: split it over several rules`;
    for (const token of tokens) if (token.split(':').some((port) => Number(port) > 65535)) return `port ${token} is above 65535`;
  }
  return undefined;
}

/** Binaries for an IP version. */
export function binaries(ipVersion: 'ipv4' | 'ipv6'): { iptables: string; save: string; restore: string } {
  const base = ipVersion === 'ipv6' ? 'ip6tables' : 'iptables';
  return { iptables: base, save: `${base}-save`, restore: `${base}-restore` };
}

/** The default persistence file of a distribution family. */
export function defaultSaveFile(family: string, ipVersion: 'ipv4' | 'ipv6'): string | undefined {
  if (family === 'debian') return ipVersion === 'ipv6' ? '/etc/iptables/rules.v6' : '/etc/iptables/rules.v4';
  if (family === 'redhat') return ipVersion === 'ipv6' ? '/etc/sysconfig/ip6tables' : '/etc/sysconfig/iptables';
  return undefined;
}

// ── Probe ────────────────────────────────────────────────────────────────────────────────────────────

/** What the first probe found. */
export interface IptablesState {
  version: IptablesVersion;
  chains: IptablesChain[];
  /** `iptables -C` for the rule: present, absent, or the chain does not exist (undefined without a rule). */
  check?: { result: 'present' | 'absent' | 'no-chain' } | { result: 'invalid'; message: string };
  /** Normalised iptables-save output, when saving. */
  save?: string;
  saveFile?: FileState;
}

/**
 * One round trip: version, the table's listing, `-C` for the rule, and with save the ruleset and the file.
 * With `predicted` (the table as a dry run's earlier tasks would leave it), the listing, the check and the
 * ruleset are read in a throwaway network namespace holding the host's rules with that table over them,
 * as the rehearsal does (facts/iptables-rehearsal.ts); `@@unavailable` where no namespace can be made.
 */
export function iptablesProbeScript(p: Params, spec: string[], saveFile: string | undefined, predicted?: string): Script {
  const bin = binaries(p.ipVersion);
  // The listing is kept in the shell, which finds the chain's -P or -N line in it: asking iptables for the
  // chain cost another iptables process (a netlink dump of the table) on every host (issue 13).
  const reads: Script[] = [
    sh`echo @@list
l=$("$b" -w -t ${p.table} -S)
printf '%s\n' "$l"`,
  ];
  if (spec.length > 0) {
    reads.push(sh`echo @@check
c=${p.chain}
case "
$l
" in
*"
-P $c "*|*"
-N $c
"*) rc=0; "$b" -w -t ${p.table} -C ${p.chain} ${spec} 2>&1 || rc=$?; echo "rc=$rc" ;;
*) echo rc=no-chain ;;
esac`);
  }
  if (saveFile !== undefined) {
    reads.push(sh`echo @@save
${bin.save}`);
  }
  const head = sh`b=${bin.iptables}
if ! command -v "$b" >/dev/null 2>&1; then echo @@missing; exit 0; fi
echo @@version
"$b" --version 2>&1 || true`;
  const saveFileState =
    saveFile === undefined
      ? []
      : [
          sh`echo @@savefile
(${fileStateScript(saveFile)})`,
        ];
  if (predicted === undefined) return Script.join([head, ...reads, ...saveFileState]);
  const inner = Script.join([
    sh`d=$1
b=${bin.iptables}
if [ -s "$d/sets" ]; then ipset restore < "$d/sets" 2>"$d/err" || { echo @@restore-failed; cat "$d/err"; exit 0; }; fi
${bin.restore} < "$d/rules" 2>"$d/err" || { echo @@restore-failed; cat "$d/err"; exit 0; }
${bin.restore} < "$d/predicted" 2>"$d/err" || { echo @@restore-failed; cat "$d/err"; exit 0; }`,
    ...reads,
  ]);
  return Script.join([
    head,
    sh`d=$(mktemp -d)
trap 'rm -rf -- "$d"' EXIT
${bin.save} ${saveFile === undefined ? ['-t', p.table] : []} > "$d/rules"
if command -v ipset >/dev/null 2>&1; then ipset save > "$d/sets" 2>/dev/null || : > "$d/sets"; fi
${predictedTableFile(predicted)}
if command -v unshare >/dev/null 2>&1 && unshare -n true 2>"$d/err"; then
  unshare -n -- /bin/sh -c ${inner.text} drover-probe "$d"
else echo @@unavailable; cat "$d/err" 2>/dev/null || true; fi`,
    ...saveFileState,
  ]);
}

/** Parses the first probe. Pure. */
export function parseIptablesProbe(p: Pick<Params, 'ipVersion'>, stdout: string, saveFile: string | undefined): IptablesState {
  const found = sections(stdout);
  const bin = binaries(p.ipVersion).iptables;
  if (found.has('missing')) throw new ModuleError(`${bin} is not installed`, `install the iptables package (it provides ${bin})`);
  const list = found.get('list');
  if (list === undefined) throw new ModuleError(`the ${bin} probe printed nothing usable: ${JSON.stringify(stdout.slice(0, 300))}`);
  const state: IptablesState = { version: parseIptablesVersion(found.get('version') ?? ''), chains: parseIptablesListing(list) };
  const check = found.get('check');
  if (check !== undefined) {
    const lines = check.trim().split('\n');
    const rc = /^rc=(.*)$/.exec(lines.at(-1) ?? '')?.[1];
    const message = lines.slice(0, -1).join('\n').trim();
    if (rc === '0') state.check = { result: 'present' };
    else if (rc === 'no-chain') state.check = { result: 'no-chain' };
    // Both backends answer a well-formed rule that is not there with exit 1 and "Bad rule"; anything else
    // (exit 2: unknown option, target, chain) means iptables refused the rule itself.
    else if (rc === '1' && /Bad rule|does a matching rule exist/.test(message)) state.check = { result: 'absent' };
    else state.check = { result: 'invalid', message: message || `iptables -C exited with ${rc}` };
  }
  if (saveFile !== undefined) {
    state.save = normaliseSave(found.get('save') ?? '');
    state.saveFile = parseFileState(saveFile, found.get('savefile') ?? '');
  }
  return state;
}

// ── Planning ─────────────────────────────────────────────────────────────────────────────────────────

/** One step of the plan before it becomes a Change: its words and its script. */
export interface Operation {
  kind: 'new-chain' | 'policy' | 'flush' | 'add' | 'delete' | 'delete-chain';
  summary: string;
  run: Script;
}

/** Shows an argv as one line for summaries (the same quoting the shell sees). */
function display(argv: ShellValue[]): string {
  return sh`${argv}`.text;
}

/** The pure first half of planning: (params, probed state) → the operations, in order. */
export function planOperations(p: Params, state: IptablesState): Operation[] {
  const bin = binaries(p.ipVersion).iptables;
  const spec = ruleSpec(p);
  const chain = state.chains.find((item) => item.name === p.chain);
  const where = `${p.table} ${p.chain}`;
  const base = (...args: ShellValue[]) => sh`${bin} -w -t ${p.table} ${args}`;
  const ops: Operation[] = [];

  // A rule iptables cannot even parse (a jump to a chain since deleted) cannot be in the chain: absent holds.
  if (state.check?.result === 'invalid' && p.state === 'present') {
    throw new ModuleError(`${bin} refused the rule for ${where}: ${state.check.message}`, `the rule was: ${display(['-A', p.chain, ...spec])}`);
  }

  if (p.state === 'present') {
    if (!chain) {
      if (!p.chainManagement) {
        throw new ModuleError(`chain ${p.chain} does not exist in the ${p.table} table`, 'create it first, or add chainManagement: true to create it here');
      }
      ops.push({ kind: 'new-chain', summary: `create chain ${where}`, run: base('-N', p.chain) });
    }
    if (p.policy !== undefined && chain?.policy !== p.policy) {
      ops.push({ kind: 'policy', summary: `set policy of ${where}: ${chain?.policy ?? '?'} → ${p.policy}`, run: base('-P', p.chain, p.policy) });
    }
    if (p.flush && chain && chain.rules.length > 0) {
      ops.push({ kind: 'flush', summary: `flush ${where} (${chain.rules.length} rule(s))`, run: base('-F', p.chain) });
    }
    if (spec.length > 0 && state.check?.result !== 'present') {
      const count = chain?.rules.length ?? 0;
      if (p.action === 'insert') {
        const at = p.ruleNum ?? 1;
        if (at > count + 1) {
          throw new ModuleError(
            `cannot insert at position ${at} in ${where}: it has ${count} rule(s)`,
            `use a ruleNum from 1 to ${count + 1}, or action append`,
          );
        }
        ops.push({ kind: 'add', summary: `insert into ${where} at ${at}: ${display(spec)}`, run: base('-I', p.chain, String(at), ...spec) });
      } else {
        ops.push({ kind: 'add', summary: `append to ${where}: ${display(spec)}`, run: base('-A', p.chain, ...spec) });
      }
    }
    return ops;
  }

  // state absent
  if (!chain) return ops;
  if (spec.length > 0) {
    if (state.check?.result === 'present') {
      // -D removes the first copy only; absent means none left, so repeat while -C finds one.
      ops.push({
        kind: 'delete',
        summary: `delete from ${where}: ${display(spec)}`,
        run: sh`while ${bin} -w -t ${p.table} -C ${p.chain} ${spec} 2>/dev/null; do ${base('-D', p.chain, ...spec)}; done`,
      });
    }
    return ops;
  }
  if (p.flush && chain.rules.length > 0) {
    ops.push({ kind: 'flush', summary: `flush ${where} (${chain.rules.length} rule(s))`, run: base('-F', p.chain) });
  }
  if (p.chainManagement) {
    if (chain.rules.length > 0 && !p.flush) {
      throw new ModuleError(`chain ${where} still has ${chain.rules.length} rule(s), so it cannot be deleted`, 'remove its rules first, or add flush: true');
    }
    const users = referencesTo(state.chains, p.chain);
    if (users.length > 0) {
      throw new ModuleError(`chain ${where} is used by ${users.length} rule(s): ${users.slice(0, 3).join('; ')}`, 'remove those rules first');
    }
    ops.push({ kind: 'delete-chain', summary: `delete chain ${where}`, run: base('-X', p.chain) });
  }
  return ops;
}

/**
 * The pure second half: operations, the rehearsal's result and the save file → the plan. The chain's
 * before/after diff goes on the last operation that changes rules (a policy change has its own).
 */
export function assemblePlan(p: Params, state: IptablesState, ops: Operation[], rehearsal: Rehearsal | undefined, saveFile: string | undefined): Plan {
  const bin = binaries(p.ipVersion).iptables;
  const backend = `${bin} ${state.version.version} (${state.version.backend})`;
  if (rehearsal && !rehearsal.ok && rehearsal.stage === 'command') {
    const op = ops[rehearsal.index];
    throw new ModuleError(
      `${bin} refused "${op?.summary ?? 'a planned command'}": ${rehearsal.message}`,
      'fix the rule options; nothing was changed on the host',
    );
  }
  const chain = state.chains.find((item) => item.name === p.chain);
  const before = chain ? chainListing(chain) : null;
  let diffIndex = -1;
  ops.forEach((op, index) => {
    if (op.kind !== 'policy') diffIndex = index;
  });
  // The table after the change is what the rehearsal listed: carried whole to the dry run's later tasks
  // (with the last operation). Without a rehearsal a later task reading this table depends on this one.
  const after: Effect =
    rehearsal?.ok && rehearsal.table !== undefined
      ? { kind: 'iptables-table', key: tableKey(p), rules: rehearsal.table }
      : { kind: 'unknown', domains: ['iptables'], under: tableKey(p), what: `the ${p.ipVersion} ${p.table} table` };
  const changes: Change[] = ops.map((op, index) => {
    const change: Change = {
      summary: op.summary,
      commands: [{ run: op.run, description: op.summary }],
      effects: index === ops.length - 1 ? [after] : [],
    };
    if (op.kind === 'policy') {
      change.diff = { kind: 'value', name: `${bin} ${p.table} ${p.chain} policy`, before: chain?.policy ?? null, after: p.policy ?? null };
    } else if (index === diffIndex) {
      const after = rehearsal?.ok ? rehearsal.chain : approximateAfter(p, op);
      change.diff = { kind: 'value', name: `${bin} -t ${p.table} -S ${p.chain}`, before, after };
    }
    return change;
  });

  if (saveFile !== undefined && state.saveFile) {
    let content = state.save ?? '';
    if (ops.length > 0) {
      if (!rehearsal?.ok || rehearsal.save === undefined) {
        const why = rehearsal && !rehearsal.ok ? rehearsal.message : 'no rehearsal ran';
        throw new ModuleError(
          `cannot predict what ${saveFile} would hold after this change: ${why}`,
          'drop save and persist in a later task (netfilter-persistent save, or service iptables save)',
        );
      }
      content = rehearsal.save;
    }
    changes.push(...planFileContentFrom({ path: saveFile, content, createParents: true }, state.saveFile).changes);
  }

  if (changes.length === 0) {
    const unparsable = state.check?.result === 'invalid' ? ` (iptables cannot parse it, so it cannot be there: ${state.check.message.split('\n')[0]})` : '';
    const what = ruleSpec(p).length > 0 ? (p.state === 'present' ? 'the rule is present' : `the rule is absent${unparsable}`) : `${p.chain} is as asked`;
    return noChange(`${p.table} ${p.chain}: ${what} (${backend})${saveFile ? `; ${saveFile} up to date` : ''}`);
  }
  return { changes, reason: backend };
}

/** The key of a table in a dry run's predictions: `ipv4/filter`. */
function tableKey(p: Pick<Params, 'ipVersion' | 'table'>): string {
  return `${p.ipVersion}/${p.table}`;
}

/** Without a rehearsal: the rule as drover writes it, not iptables' canonical form. */
function approximateAfter(p: Params, op: Operation): string | null {
  if (op.kind === 'delete-chain') return null;
  if (op.kind === 'add') return `${display(['-A', p.chain, ...ruleSpec(p)])}\n(as written by drover; iptables may list it in its own form)\n`;
  if (op.kind === 'delete') return `(without ${display(['-A', p.chain, ...ruleSpec(p)])})\n`;
  if (op.kind === 'flush')
    return `${chainListing({ name: p.chain, policy: BUILTIN_CHAINS[p.table]!.includes(p.chain) ? (p.policy ?? '?') : undefined, rules: [] })}`;
  return `-N ${p.chain}\n`;
}

export const iptables = defineModule({
  name: 'iptables',
  summary: 'Manage one iptables/ip6tables rule, a chain, its policy, and saving the ruleset',
  params,
  async plan(p, host: HostContext): Promise<Plan> {
    const problem = multiportProblem(p);
    if (problem) throw new ModuleError(problem);
    let saveFile: string | undefined;
    if (p.save) {
      saveFile = p.saveFile ?? defaultSaveFile((await host.fact(osFacts)).family, p.ipVersion);
      if (!saveFile) throw new ModuleError(`no default iptables save file is known for this distribution on ${host.name}`, 'give saveFile');
    }
    const spec = ruleSpec(p);
    // In a dry run, the table as earlier tasks would leave it (an unknown there is noted by the lookup).
    const predicted = host.predicted.iptablesTable(tableKey(p));
    let output = await host.probe(iptablesProbeScript(p, spec, saveFile, predicted?.known), { fingerprint: withoutLiveCounters });
    if (predicted && /^@@(unavailable|restore-failed)$/m.test(output.stdout)) {
      // No namespace to rebuild the predicted table in: planned from the host as it is, depending on that task.
      host.predicted.dependsOn(predicted.by, `the ${p.ipVersion} ${p.table} table`);
      output = await host.probe(iptablesProbeScript(p, spec, saveFile), { fingerprint: withoutLiveCounters });
    }
    if (output.exitCode !== 0) {
      throw new ModuleError(
        `could not list the ${p.table} table on ${host.name} (exit ${output.exitCode}): ${(output.stderr || output.stdout).trim()}`,
        'iptables needs root (become) and kernel support for the table',
      );
    }
    const state = parseIptablesProbe(p, output.stdout, saveFile);
    const ops = planOperations(p, state);
    let rehearsal: Rehearsal | undefined;
    if (ops.length > 0) {
      const bin = binaries(p.ipVersion);
      const rehearsed = await host.probe(
        rehearsalScript(
          { ...bin, table: p.table, chain: p.chain },
          ops.map((op) => op.run),
          saveFile !== undefined,
          predicted?.known,
        ),
        { fingerprint: withoutLiveCounters },
      );
      rehearsal =
        rehearsed.exitCode === 0
          ? parseRehearsal(rehearsed.stdout)
          : { ok: false, stage: 'unavailable', message: (rehearsed.stderr || rehearsed.stdout).trim() };
    }
    return assemblePlan(p, state, ops, rehearsal, saveFile);
  },
});

/**
 * A probe's output without what changes by itself — iptables-save's timestamp comments and the live packet
 * counters legacy prints on chain lines — for a saved plan's fingerprint (the rules themselves count).
 */
function withoutLiveCounters(output: ProbeOutput): ProbeOutput {
  const stdout = output.stdout.replace(/^# (Generated by|Completed on) .*$/gm, '#').replace(/^(:\S+ \S+) \[\d+:\d+\]$/gm, '$1 [0:0]');
  return { ...output, stdout };
}
