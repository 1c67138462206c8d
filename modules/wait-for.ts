/**
 * waitFor: wait, on the host, until a TCP port is open or closed, a path is present or absent, a regular
 * expression appears in a file, or a command succeeds — bounded by `timeout`. The whole polling loop runs
 * on the host as one command (one round trip, however many checks), and the task's value says how long it
 * waited. A timeout fails the task with a message naming what was waited for.
 *
 * @example
 *   await t.waitFor('apiserver up', { port: 6443, timeout: 300 });
 *   await t.waitFor('etcd on the first node', { port: 2379, host: '10.0.0.11' });
 *   await t.waitFor('kubelet wrote its config', { path: '/var/lib/kubelet/config.yaml' });
 *   await t.waitFor('join finished', { path: '/var/log/join.log', search: 'This node has joined' });
 *   await t.waitFor('node ready', { argv: ['kubectl', 'wait', '--for=condition=Ready', 'node/n1', '--timeout=5s'], sleep: 5 });
 *   const old = await t.waitFor('old server gone', { port: 8080, state: 'closed', timeout: 60 });   // old.value?.elapsed
 *
 * Check mode: a wait only reads, so it runs in check mode too, as Ansible's wait_for does. When it times
 * out there, what it waits for may be what an earlier task would have made had it really run (a service
 * a skipped task would start), so the task is reported as uncertain ("would run"), not failed; a real run
 * fails. After a change the dry run only predicted (on any host) it does not wait at all: it "would run",
 * naming that change, since what it waits for may be what that change would bring.  Before any, a wait
 * for something that never comes still takes the whole timeout, as it would in the apply.
 *
 * The port test uses bash's /dev/tcp when the host has bash, else python3, else nc (Debian's dash has no
 * /dev/tcp); each attempt is limited to 2 s, so a port behind a dropping firewall counts as not open.
 * `search` is a POSIX extended regular expression (grep -E), not a JavaScript one.
 */
import { sh, type Command, type Script } from '../runner/command.ts';
import { defineModule, type CommandOutcome, type Interpretation, type Plan } from '../runner/module.ts';
import { s, type InputOf, type OutputOf } from '../runner/schema.ts';
import { hostPath } from './lib/file-params.ts';
import { field, fromBase64, parseFieldLines } from './lib/probe-output.ts';

/** What a waitFor task returns to the playbook. */
export interface WaitForValue {
  /** Seconds waited, `delay` included (millisecond precision). */
  elapsed: number;
  /** What was waited for, in words: "TCP port 6443 on 127.0.0.1 to be open". */
  condition: string;
}

const params = s
  .object({
    /** TCP port to wait for (tested from the host, towards `host`). */
    port: s.int({ min: 1, max: 65535 }).optional(),
    /** With `port`: the address to connect to, from the host (a name, IPv4 or IPv6 address). */
    // No leading `-`: nc would read it as an option.
    host: s.string({ pattern: /^[A-Za-z0-9._:][A-Za-z0-9._:-]*$/, what: 'a host name or IP address' }).default('127.0.0.1'),
    /** A path on the host to wait for (absolute). */
    path: hostPath().optional(),
    /** With `path`: wait until a line of the file matches this POSIX extended regular expression (grep -E). */
    search: s.string({ nonEmpty: true, what: 'a POSIX extended regular expression' }).optional(),
    /** A program and its arguments (no shell) to run until it exits 0. */
    argv: s.array(s.string(), { nonEmpty: true }).optional(),
    /** For `port`: `open` (default) or `closed`; for `path`: `present` (default) or `absent`. Not used with `argv`. */
    state: s.enum(['open', 'closed', 'present', 'absent']).optional(),
    /** Most seconds to wait, `delay` included; then the task fails. */
    timeout: s.number({ min: 0 }).default(300),
    /** Seconds to wait before the first check. */
    delay: s.number({ min: 0 }).default(0),
    /** Seconds between checks. */
    sleep: s.number({ min: 0.1 }).default(1),
  })
  .rule((p) =>
    [p.port, p.path, p.argv].filter((what) => what !== undefined).length === 1 ? undefined : 'give exactly one of port, path or argv (what to wait for)',
  )
  .rule((p) => (p.search !== undefined && p.path === undefined ? 'search needs path (the file to search)' : undefined))
  .rule((p) => (p.search !== undefined && p.state === 'absent' ? 'search waits for a match to appear: use it with state present' : undefined))
  .rule((p) =>
    p.port !== undefined && p.state !== undefined && p.state !== 'open' && p.state !== 'closed'
      ? `with port, state is open or closed, not ${p.state}`
      : undefined,
  )
  .rule((p) =>
    p.path !== undefined && p.state !== undefined && p.state !== 'present' && p.state !== 'absent'
      ? `with path, state is present or absent, not ${p.state}`
      : undefined,
  )
  .rule((p) => (p.argv !== undefined && p.state !== undefined ? 'state is not used with argv (it waits for the command to succeed)' : undefined));

export type WaitForParams = InputOf<typeof params>;
type Params = OutputOf<typeof params>;

export const waitFor = defineModule({
  name: 'waitFor',
  summary: 'Wait on the host until a TCP port opens or closes, a path appears or goes, a regex is in a file, or a command succeeds',
  params,
  async plan(p): Promise<Plan<WaitForValue>> {
    return planWait(p);
  },
});

/** Pure: the plan for a wait (it needs no probe: the wait itself is the only command). Exported for table tests. */
export function planWait(p: Params): Plan<WaitForValue> {
  const condition = describeCondition(p);
  const command: Command = {
    run: waitScript(p),
    readOnly: true,
    description: `wait for ${condition}`,
    // The loop ends itself at the timeout; the runner's limit is only a backstop for a host that hangs.
    timeoutMs: Math.round((p.timeout + p.delay + 60) * 1000),
  };
  return {
    changes: [{ summary: `wait for ${condition}`, commands: [command] }],
    readOnly: true,
    uncertainIfFailsInCheck: true,
    interpret: (outcomes) => interpretWait(p, condition, outcomes),
  };
}

/** "TCP port 6443 on 127.0.0.1 to be open", "/etc/x to be absent", "/var/log/a to match /ready/", "`kubectl …` to succeed". */
export function describeCondition(p: Params): string {
  if (p.port !== undefined) return `TCP port ${p.port} on ${p.host} to be ${p.state ?? 'open'}`;
  if (p.path !== undefined) {
    const path = p.path; // normalised by the hostPath schema
    return p.search !== undefined ? `${path} to contain a line matching ${JSON.stringify(p.search)}` : `${path} to be ${p.state ?? 'present'}`;
  }
  const label = (p.argv ?? []).map((word) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : JSON.stringify(word))).join(' ');
  return `${label.length > 100 ? `${label.slice(0, 97)}...` : label} to succeed`;
}

/** The body of the loop's `check` function: exits 0 when the condition holds. Only quoted values reach the shell. */
function checkScript(p: Params): Script {
  if (p.port !== undefined) {
    const open = sh`port_open ${p.host} ${p.port}`;
    return p.state === 'closed' ? sh`! ${open}` : open;
  }
  if (p.path !== undefined) {
    const path = p.path; // normalised by the hostPath schema
    if (p.search !== undefined) return sh`grep -E -q -e ${p.search} -- ${path} 2>/dev/null`;
    const present = sh`{ [ -e ${path} ] || [ -L ${path} ]; }`;
    return p.state === 'absent' ? sh`! ${present}` : present;
  }
  // The command's output is kept (its tail ends up in the timeout message); each attempt gets the time
  // left (at least 1 s), so a command that hangs cannot hold the wait past its timeout.
  return sh`t=$(( (limit_ms - $(elapsed_ms) + 999) / 1000 )); [ "$t" -ge 1 ] || t=1; last=$(timeout -k 5 "$t" ${p.argv ?? []} 2>&1)`;
}

/**
 * The loop, on the host, in POSIX sh with GNU date/sleep/timeout (Debian, Ubuntu, RHEL): times are kept
 * in milliseconds from `date +%s%N`; the result is printed as fields for interpretWait.
 */
export function waitScript(p: Params): Script {
  const limitMs = Math.round(p.timeout * 1000);
  const portHelpers =
    p.port === undefined
      ? sh``
      : sh`if command -v bash >/dev/null 2>&1; then
  port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' drover "$1" "$2" >/dev/null 2>&1; }
elif command -v python3 >/dev/null 2>&1; then
  port_open() { timeout 2 python3 -c 'import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 2).close()' "$1" "$2" >/dev/null 2>&1; }
elif command -v nc >/dev/null 2>&1; then
  port_open() { nc -z -w 2 "$1" "$2" >/dev/null 2>&1; }
else
  echo result=no-tool; exit 0
fi
`;
  return sh`start_ns=$(date +%s%N)
limit_ms=${limitMs}
last=
elapsed_ms() { echo $(( ($(date +%s%N) - start_ns) / 1000000 )); }
${portHelpers}check() { ${checkScript(p)}; }
sleep ${seconds(p.delay)}
while :; do
  if check; then echo result=reached; break; fi
  if [ "$(elapsed_ms)" -ge "$limit_ms" ]; then echo result=timeout; break; fi
  sleep ${seconds(p.sleep)}
done
echo "waited_ms=$(elapsed_ms)"
printf 'last=%s\\n' "$(printf '%s' "$last" | tail -c 2000 | base64 -w0)"
`;
}

/** Seconds as sleep(1) takes them: never in exponent notation (`1e-7`), which sleep refuses. */
function seconds(value: number): string {
  return value.toFixed(3);
}

/** Pure: the loop's output → the value, or the failure naming what was waited for. */
export function interpretWait(p: Pick<Params, 'timeout'>, condition: string, outcomes: CommandOutcome[]): Interpretation<WaitForValue> {
  const outcome = outcomes[outcomes.length - 1];
  const fields = parseFieldLines(outcome?.stdout ?? '');
  const result = field(fields, 'result');
  const waitedMs = Number(field(fields, 'waited_ms') ?? Number.NaN);
  const elapsed = Number.isFinite(waitedMs) ? waitedMs / 1000 : Number.NaN;
  if (result === 'reached' && Number.isFinite(elapsed)) return { value: { elapsed, condition }, reason: `${condition}: reached after ${elapsed.toFixed(1)} s` };
  if (result === 'no-tool')
    return { failed: `cannot test a TCP port on this host: it has none of bash, python3 or nc; install one of them, or wait with argv` };
  if (result === 'timeout') {
    const last = fromBase64(field(fields, 'last') ?? '').trim();
    const timedOut = `timed out after ${p.timeout} s waiting for ${condition} (waited ${elapsed.toFixed(1)} s)`;
    return last ? { failed: `${timedOut}; the command's last output`, failedOutput: { text: last, lines: 10 } } : { failed: timedOut };
  }
  return { failed: 'the wait loop printed no result', failedOutput: { text: [outcome?.stdout, outcome?.stderr].filter(Boolean).join('\n'), lines: 10 } };
}
