/**
 * reboot: reboot the host, wait for it to go down and come back, reconnect, and go on with the play.
 *
 * The planner reads the boot id (/proc/sys/kernel/random/boot_id, new at every boot) and plans one command
 * that schedules the reboot two seconds later (a systemd timer, else a detached `sleep 2; reboot`), so the
 * command's answer arrives before sshd goes down. The runner then waits (runner/engine/host-session.ts,
 * `runReboot`): it tries a fresh connection every two seconds and asks for the boot id, until one answers
 * with a new id, within `timeout` seconds from the command; the host's session then uses that connection
 * for every later task, and all cached facts are dropped. A host that does not come back in time is
 * unreachable, with the time waited and the last attempt's error.
 *
 * Check mode reports the reboot it would do and sends nothing. The task is always `changed`.
 *
 * @example
 *   const kernel = await t.apt('kernel', { name: 'linux-image-amd64', state: 'latest' });
 *   if (kernel.changed) await t.reboot('boot the new kernel', { timeout: 900 });
 */
import { sh } from '../runner/command.ts';
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, type Plan } from '../runner/module.ts';
import { s, type InputOf } from '../runner/schema.ts';

const params = s.object({
  /** Seconds the host may take to go down and come back up with SSH answering (default 600). */
  timeout: s.int({ min: 10, max: 86_400 }).default(600),
  /** Seconds to wait after the host is back before the next task (services still starting); default 0. */
  postRebootDelay: s.int({ min: 0, max: 3_600 }).default(0),
});

export type RebootParams = InputOf<typeof params>;

/** What the task returns: the boot ids and how long the host took to come back. */
export interface RebootValue {
  bootIdBefore: string;
  bootIdAfter: string;
  seconds: number;
}

const BOOT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const reboot = defineModule({
  name: 'reboot',
  summary: 'Reboot the host, wait (bounded) for it to come back with a new boot id, reconnect and go on',
  params,
  async plan(p, host): Promise<Plan<RebootValue>> {
    const probe = await host.probe(sh`cat /proc/sys/kernel/random/boot_id`);
    const bootId = probe.stdout.trim();
    if (probe.exitCode !== 0 || !BOOT_ID.test(bootId)) {
      throw new ModuleError(
        `cannot read the boot id of ${host.name} (/proc/sys/kernel/random/boot_id): ${probe.stderr.trim() || bootId}`,
        'reboot needs a Linux host with /proc mounted',
      );
    }
    return planReboot(p.timeout, p.postRebootDelay, bootId);
  },
});

/** Pure: the boot id → the plan (the reboot command the runner waits on, then the optional delay). */
export function planReboot(timeout: number, postRebootDelay: number, bootId: string): Plan<RebootValue> {
  const commands = [
    {
      run: sh`if command -v systemd-run >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemd-run --quiet --on-active=2 --timer-property=AccuracySec=100ms systemctl reboot
else
  nohup setsid sh -c 'sleep 2; exec reboot' </dev/null >/dev/null 2>&1 &
fi`,
      reboot: { bootId, timeoutMs: timeout * 1000 },
      timeoutMs: 60_000,
      description: `reboot (boot id ${bootId}) and wait up to ${timeout} s for the host to come back`,
    },
    ...(postRebootDelay > 0
      ? [{ run: sh`sleep ${postRebootDelay}`, timeoutMs: (postRebootDelay + 60) * 1000, description: `wait ${postRebootDelay} s after the reboot` }]
      : []),
  ];
  return {
    changes: [
      {
        summary: `reboot and wait up to ${timeout} s for the host to come back${postRebootDelay > 0 ? `, then ${postRebootDelay} s more` : ''}`,
        diff: { kind: 'value', name: 'boot id', before: bootId, after: '(a new boot)' },
        commands,
        // Files stay; the live state is set up again by the boot from what is on disk, which a dry run
        // does not replay; /run and /tmp may start empty.
        effects: [
          { kind: 'unknown', domains: ['sysctl', 'kernel-modules', 'mounts', 'units', 'iptables'], what: 'the live state the boot sets up again' },
          { kind: 'unknown', domains: ['files'], under: '/run', what: 'what /run holds after the boot' },
          { kind: 'unknown', domains: ['files'], under: '/tmp', what: 'what /tmp holds after the boot' },
        ],
      },
    ],
    interpret(outcomes) {
      const back = /back after ([\d.]+) s with boot id (\S+)/.exec(outcomes[0]?.stdout ?? '');
      if (!back) return { failed: 'the reboot command ran, but the runner did not report the host back' };
      return {
        reason: `rebooted; back after ${back[1]} s (boot id ${back[2]})`,
        value: { bootIdBefore: bootId, bootIdAfter: back[2]!, seconds: Number(back[1]) },
      };
    },
  };
}
