/**
 * Ansible's `ansible_ssh_common_args` and `ansible_ssh_extra_args` are words for the `ssh` command line.
 * drover speaks SSH itself, so it honours the options it has an equivalent for and reports the rest:
 *
 *   -o UserKnownHostsFile=PATH     the host's known_hosts file (one file)
 *   -o StrictHostKeyChecking=yes   what drover does anyway
 *   -o ProxyJump=HOPS, -J HOPS     jump hosts, written as in ~/.ssh/config
 *
 * Everything else (ProxyCommand, ControlMaster, -v, StrictHostKeyChecking=no …) comes back as
 * `unsupported`, for a warning. Host-key checking is never turned off from an inventory: that takes
 * drover's loudly named command-line option.
 */
import { shlexSplit } from './shlex.ts';

export interface SshArgs {
  knownHostsFile?: string;
  /** The ProxyJump value as written (`[user@]host[:port]`, comma-separated hops). */
  proxyJump?: string;
  /** The words drover does not act on, as written (`-o ControlMaster=auto`, `-v`). */
  unsupported: string[];
}

/** Reads one argument string; as with ssh, the first value given for an option wins. Throws ShlexError on unbalanced quotes. */
export function parseSshArgs(text: string): SshArgs {
  const result: SshArgs = { unsupported: [] };
  const words = shlexSplit(text);
  for (let index = 0; index < words.length; index++) {
    const word = words[index]!;
    const flag = word.slice(0, 2);
    if (flag === '-o' || flag === '-J') {
      const value = word.length > 2 ? word.slice(2) : words[++index];
      if (value === undefined) result.unsupported.push(word);
      else if (flag === '-J') result.proxyJump ??= value;
      else readOption(value, result);
    } else {
      result.unsupported.push(word);
    }
  }
  return result;
}

/** `Key=Value` or `Key Value`, with keys case-insensitive as in ssh_config. */
function readOption(option: string, result: SshArgs): void {
  const match = /^\s*([A-Za-z]+)\s*(?:=\s*|\s+)(.*?)\s*$/.exec(option);
  const key = match?.[1]?.toLowerCase();
  const value = match?.[2] ?? '';
  if (key === 'userknownhostsfile' && value !== '' && !/\s/.test(value)) {
    result.knownHostsFile ??= value;
  } else if (key === 'stricthostkeychecking' && value.toLowerCase() === 'yes') {
    // drover's default: nothing to do.
  } else if (key === 'proxyjump' && value !== '') {
    result.proxyJump ??= value;
  } else {
    result.unsupported.push(`-o ${option}`);
  }
}
