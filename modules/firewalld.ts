/**
 * firewalld: open or close a port, a service or a source in a firewalld zone, permanently (the zone's
 * saved configuration) and at runtime (the rules in force now), or create and delete a zone — for hosts
 * that keep their firewall on (RHEL and its rebuilds by default) instead of turning it off.
 *
 * One probe asks firewall-cmd, through the running daemon, whether the item is in the zone in each
 * configuration asked for (`--query-*`, and `--permanent --query-*`); only the configurations that differ
 * are changed, so a runtime that was already opened by hand is not touched again. Every value is checked
 * by the schema (a port is `N/proto` or `N-M/proto`, a source an address, a network, a MAC or `ipset:NAME`)
 * and reaches the host only as one quoted word.
 *
 * A zone exists first in the permanent configuration; it reaches the runtime at the next reload, which
 * this module then does (`firewall-cmd --reload`, which also drops runtime-only changes made by hand).
 * Set `runtime: false` to leave the reload for later. firewalld must be running (`systemd` name=firewalld
 * state=started): firewall-cmd talks to the daemon.
 *
 * @example
 *   await t.firewalld('API server', { port: '6443/tcp', zone: 'public' });
 *   await t.firewalld('kubelet', { port: '10250/tcp' });                      // the default zone
 *   await t.firewalld('pod network', { source: '10.244.0.0/16', zone: 'trusted' });
 *   await t.firewalld('no telnet', { service: 'telnet', state: 'disabled' });
 *   await t.firewalld('cluster zone', { zone: 'k8s', state: 'present' });
 */
import { isIP } from 'node:net';
import { sh, type Command, type Script } from '../runner/command.ts';
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, noChange, type Change, type Plan, type ProbeOutput } from '../runner/module.ts';
import type { Effect } from '../runner/predicted-state.ts';
import { s, type InputOf, type OutputOf } from '../runner/schema.ts';
import { field, parseFieldLines } from './lib/probe-output.ts';

/** A source as firewalld takes it: an IPv4/IPv6 address or network, a MAC address, or `ipset:NAME`. */
export function sourceProblem(text: string): string | undefined {
  if (/^ipset:[A-Za-z0-9_.:-]{1,32}$/.test(text)) return undefined;
  if (/^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$/.test(text)) return undefined;
  const [address, prefix, ...rest] = text.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return `${JSON.stringify(text)} is not an address, a network (addr/prefix), a MAC address or ipset:NAME`;
  if (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128))) {
    return `${JSON.stringify(text)} has prefix length ${JSON.stringify(prefix)}; IPv${family} takes 0 to ${family === 4 ? 32 : 128}`;
  }
  return undefined;
}

/** A port or range as firewalld takes it, with ports 1–65535 and a low–high range. */
export function portProblem(text: string): string | undefined {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?\/(tcp|udp|sctp|dccp)$/.exec(text);
  if (!match) return `${JSON.stringify(text)} is not PORT/PROTOCOL or LOW-HIGH/PROTOCOL (protocol tcp, udp, sctp or dccp), e.g. 6443/tcp`;
  const low = Number(match[1]);
  const high = match[2] === undefined ? low : Number(match[2]);
  if (low < 1 || high > 65_535 || low > high) return `${JSON.stringify(text)} is not a port from 1 to 65535 (or a range low-high within it)`;
  return undefined;
}

const params = s
  .object({
    /** The zone (default: the host's default zone). Required for state present/absent, which create and delete it. */
    zone: s.string({ pattern: /^[A-Za-z0-9_-]{1,17}$/, what: 'a zone name (letters, digits, _ and -, at most 17)' }).optional(),
    /** A port or range with its protocol: `6443/tcp`, `30000-32767/tcp`, `8472/udp`. */
    port: s.string({ what: 'PORT/PROTOCOL or LOW-HIGH/PROTOCOL' }).refine(portProblem).optional(),
    /** A firewalld service name (`firewall-cmd --get-services` lists them): `http`, `ssh`, `kube-apiserver`. */
    service: s.string({ pattern: /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$/, what: 'a firewalld service name' }).optional(),
    /** Traffic from this source is handled by the zone: an address, a network `10.0.0.0/8`, a MAC address or `ipset:NAME`. */
    source: s.string({ what: 'an address, network, MAC address or ipset:NAME' }).refine(sourceProblem).optional(),
    /** enabled/disabled: the port, service or source is in the zone or not. present/absent: the zone itself exists or not. */
    state: s.enum(['enabled', 'disabled', 'present', 'absent'] as const).default('enabled'),
    /** Change the saved configuration, which survives a reload and a reboot (default true). */
    permanent: s.boolean().default(true),
    /** Change the rules in force now (default true); for a zone, by reloading firewalld. */
    runtime: s.boolean().default(true),
  })
  .rule((p) => {
    const items = [p.port, p.service, p.source].filter((item) => item !== undefined).length;
    if (p.state === 'present' || p.state === 'absent') {
      if (items > 0) return `state ${p.state} creates or deletes the zone itself; give no port, service or source (use enabled/disabled for those)`;
      if (p.zone === undefined) return `state ${p.state} needs the zone to create or delete`;
      if (!p.permanent) return `a zone exists first in the permanent configuration: state ${p.state} needs permanent: true`;
      return undefined;
    }
    if (items !== 1) return 'give exactly one of port, service and source';
    if (!p.permanent && !p.runtime) return 'permanent and runtime are both false: nothing would change';
    return undefined;
  });

export type FirewalldParams = InputOf<typeof params>;
type Parsed = OutputOf<typeof params>;

type ItemKind = 'port' | 'service' | 'source';

function itemOf(p: Parsed): { kind: ItemKind; value: string } | undefined {
  if (p.port !== undefined) return { kind: 'port', value: p.port };
  if (p.service !== undefined) return { kind: 'service', value: p.service };
  if (p.source !== undefined) return { kind: 'source', value: p.source };
  return undefined;
}

export const firewalld = defineModule({
  name: 'firewalld',
  summary: 'Open or close a port, service or source in a firewalld zone (permanent and runtime), or create and delete a zone',
  params,
  async plan(p, host): Promise<Plan> {
    // firewall-cmd answers from the daemon, which no prediction reaches: an earlier firewalld change in a
    // dry run makes this task depend on it.
    host.predicted.reads('files', FIREWALLD_CONFIG, "firewalld's zones");
    const output = await host.probe(probeScript(p));
    const plan = planFirewalld(p, readProbe(output, p, host.name));
    for (const change of plan.changes) change.effects ??= FIREWALLD_EFFECTS;
    return plan;
  },
});

const FIREWALLD_CONFIG = '/etc/firewalld';

/**
 * What a firewalld change leaves for a dry run's later tasks: its configuration and the netfilter rules it
 * generates (in iptables' tables too, with its iptables backend), not predicted value by value.
 */
const FIREWALLD_EFFECTS: Effect[] = [
  { kind: 'unknown', domains: ['files'], under: FIREWALLD_CONFIG, what: "firewalld's zones" },
  { kind: 'unknown', domains: ['iptables'], what: 'the netfilter rules firewalld generates' },
];

/** What the probe found: the zone used, and per configuration whether the item (or the zone) is there. */
export interface FirewalldState {
  zone: string;
  permanent: boolean;
  runtime: boolean;
  /**
   * Configurations in which the zone itself does not exist (firewall-cmd's INVALID_ZONE): in a dry run an
   * earlier task may create it, so the change is planned behind a guard and uncertain.
   */
  zoneMissing?: { permanent: boolean; runtime: boolean };
}

/**
 * One round trip: firewall-cmd present and the daemon running, the default zone, then `--query-*` in each
 * configuration (exit 0 yes, 1 no, anything else an error such as INVALID_ZONE, kept with its message).
 */
function probeScript(p: Parsed): Script {
  const item = itemOf(p);
  const query = item
    ? sh`query() {
  name=$1
  shift
  if err=$(firewall-cmd "$@" --zone="$zone" ${`--query-${item.kind}=${item.value}`} 2>&1 >/dev/null); then rc=0; else rc=$?; fi
  echo "$name=$rc"
  [ "$rc" -le 1 ] || echo "$name-error=$(printf '%s' "$err" | tr '\n' ' ' | head -c 300)"
}
query permanent --permanent
query runtime`
    : sh`echo "permanent=$(firewall-cmd --permanent --get-zones | tr ' ' '\n' | grep -qx -- "$zone" && echo 0 || echo 1)"
echo "runtime=$(firewall-cmd --get-zones | tr ' ' '\n' | grep -qx -- "$zone" && echo 0 || echo 1)"`;
  return sh`command -v firewall-cmd >/dev/null 2>&1 || { echo tool=missing; exit 0; }
state=$(firewall-cmd --state 2>&1 || true)
echo "state=$state"
[ "$state" = running ] || exit 0
zone=${p.zone ?? ''}
[ -n "$zone" ] || zone=$(firewall-cmd --get-default-zone)
echo "zone=$zone"
${query}`;
}

/** Pure: the probe's output → the state, or an error naming the fix. */
export function readProbe(output: ProbeOutput, p: Parsed, hostName: string): FirewalldState {
  const fields = parseFieldLines(output.stdout);
  if (field(fields, 'tool') === 'missing')
    throw new ModuleError(`${hostName} has no firewall-cmd`, 'install firewalld (dnf install firewalld), or manage this host with iptables');
  const state = field(fields, 'state');
  if (state !== 'running') {
    throw new ModuleError(
      `firewalld is not running on ${hostName} (firewall-cmd --state: ${state ?? output.stderr.trim()})`,
      'start it first (systemd name=firewalld state=started enabled=true); firewall-cmd changes nothing without the daemon',
    );
  }
  const zone = field(fields, 'zone') ?? '';
  const missing = { permanent: false, runtime: false };
  for (const configuration of ['permanent', 'runtime'] as const) {
    const error = field(fields, `${configuration}-error`);
    if (!error) continue;
    if (/INVALID_ZONE/.test(error) && itemOf(p)) {
      missing[configuration] = true;
      continue;
    }
    const hint = /INVALID_SERVICE/.test(error)
      ? 'give a service firewalld knows (firewall-cmd --get-services), or the port itself'
      : 'check the value against firewall-cmd on the host';
    throw new ModuleError(`firewall-cmd on ${hostName} refused ${describeTarget(p, zone)} (${configuration}): ${error.trim()}`, hint);
  }
  const answer = (name: 'permanent' | 'runtime'): boolean => {
    if (missing[name]) return false;
    const value = field(fields, name);
    if (value !== '0' && value !== '1')
      throw new ModuleError(`unexpected firewall-cmd probe output from ${hostName}: ${output.stdout.slice(0, 300)}`, 'check firewalld on the host');
    return value === '0';
  };
  return { zone, permanent: answer('permanent'), runtime: answer('runtime'), ...(missing.permanent || missing.runtime ? { zoneMissing: missing } : {}) };
}

function describeTarget(p: Parsed, zone: string): string {
  const item = itemOf(p);
  return item ? `${item.kind} ${item.value} in zone ${zone}` : `zone ${zone}`;
}

/** Pure: the probed state → the firewall-cmd commands for each configuration that differs. */
export function planFirewalld(p: Parsed, state: FirewalldState): Plan {
  const item = itemOf(p);
  if (!item) return planZone(p, state);
  const want = p.state === 'enabled';
  const verb = want ? 'add' : 'remove';
  const changes: Change[] = [];
  const configurations = [...(p.permanent ? (['permanent'] as const) : []), ...(p.runtime ? (['runtime'] as const) : [])];
  let uncertain = false;
  for (const configuration of configurations) {
    if (state[configuration] === want) continue;
    // Removing from a zone that does not exist: the item is not there, as asked.
    if (state.zoneMissing?.[configuration] && !want) continue;
    if (state.zoneMissing?.[configuration]) {
      changes.push(zoneMustExist(state.zone, configuration));
      uncertain = true;
    }
    const flag = `--${verb}-${item.kind}=${item.value}`;
    const command: Command = {
      run: configuration === 'permanent' ? sh`firewall-cmd --permanent --zone=${state.zone} ${flag}` : sh`firewall-cmd --zone=${state.zone} ${flag}`,
      description: `firewall-cmd${configuration === 'permanent' ? ' --permanent' : ''} --zone=${state.zone} ${flag}`,
    };
    changes.push({
      summary: `${want ? 'enable' : 'disable'} ${item.kind} ${item.value} in zone ${state.zone} (${configuration})`,
      diff: {
        kind: 'value',
        name: `zone ${state.zone} ${item.kind} ${item.value} (${configuration})`,
        before: want ? 'disabled' : 'enabled',
        after: want ? 'enabled' : 'disabled',
      },
      commands: [command],
    });
  }
  if (changes.length > 0) return { changes, ...(uncertain && { uncertain }) };
  return noChange(`${item.kind} ${item.value} already ${p.state} in zone ${state.zone} (${configurations.join(' and ')})`);
}

/**
 * The zone does not exist in this configuration now; in a dry run an earlier task (this module with state
 * present) may create it. A real run has run that task, so a zone still missing fails here, with the fix.
 */
function zoneMustExist(zone: string, configuration: 'permanent' | 'runtime'): Change {
  const problem = `drover: zone ${zone} does not exist in firewalld's ${configuration} configuration: create it first (firewalld zone=${zone} state=present), or give an existing zone`;
  const zones = configuration === 'permanent' ? sh`firewall-cmd --permanent --get-zones` : sh`firewall-cmd --get-zones`;
  return {
    summary: `check that zone ${zone} exists by then (not yet in the ${configuration} configuration; an earlier task may create it)`,
    commands: [
      {
        run: sh`${zones} | tr ' ' '\\n' | grep -qx -- ${zone} || { echo ${problem} >&2; exit 1; }`,
        readOnly: true,
        description: `check that zone ${zone} exists (${configuration})`,
      },
    ],
  };
}

function planZone(p: Parsed, state: FirewalldState): Plan {
  const want = p.state === 'present';
  const zone = state.zone;
  const permanentRight = state.permanent === want;
  const runtimeRight = !p.runtime || state.runtime === want;
  if (permanentRight && runtimeRight)
    return noChange(`zone ${zone} already ${want ? 'exists' : 'absent'}${p.runtime ? ' (permanent and runtime)' : ' (permanent)'}`);
  const commands: Command[] = [];
  if (!permanentRight) {
    commands.push(
      want
        ? { run: sh`firewall-cmd --permanent --new-zone=${zone}`, description: `firewall-cmd --permanent --new-zone=${zone}` }
        : { run: sh`firewall-cmd --permanent --delete-zone=${zone}`, description: `firewall-cmd --permanent --delete-zone=${zone}` },
    );
  }
  // Zones reach (or leave) the runtime only through a reload.
  if (p.runtime) commands.push({ run: sh`firewall-cmd --reload`, description: 'firewall-cmd --reload' });
  return {
    changes: [
      {
        summary: `${want ? 'create' : 'delete'} zone ${zone}${p.runtime ? ' and reload firewalld' : ' (permanent; in force after the next reload)'}`,
        diff: { kind: 'value', name: `zone ${zone}`, before: want ? 'absent' : 'present', after: want ? 'present' : 'absent' },
        commands,
      },
    ],
  };
}
