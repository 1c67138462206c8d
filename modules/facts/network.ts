/**
 * The host's network as the kernel has it, in one round trip: every interface with its MAC, MTU, state
 * and addresses, the default routes, and for each address family the address this host would present as
 * its own (the "two-NIC problem": kubelet, etcd and kubeadm pick the address of the interface that holds
 * the default route, which is not always the one the inventory connects to).
 *
 * Read with `ip -j` (iproute2 ≥ 4.14: Debian 10+, RHEL 8+). Where `ip -j` is missing or refuses, it falls
 * back to /proc/net/dev (names) and /sys/class/net (MAC, MTU, state), /proc/net/route, /proc/net/ipv6_route and /proc/net/if_inet6; that path has no
 * IPv4 addresses (the kernel exposes them only through netlink), which `source: 'procfs'` says, and in a
 * container whose /sys is the machine's, an interface's MAC/MTU/state may be read from the machine's
 * interface of the same name.
 */
import { sh } from '../../runner/command.ts';
import { FactError, type Fact } from '../../runner/facts.ts';
import { field, fromBase64, parseFieldLines } from '../lib/probe-output.ts';

export interface InterfaceAddress {
  family: 'inet' | 'inet6';
  address: string;
  prefixLength: number;
  /** `global`, `link`, `host`… */
  scope: string;
}

export interface NetworkInterface {
  name: string;
  /** Lower-case MAC; '' for interfaces without one (loopback has 00:00:00:00:00:00). */
  mac: string;
  mtu: number;
  /** Operational state, lower case: `up`, `down`, `unknown` (loopback, some virtual links)… */
  state: string;
  addresses: InterfaceAddress[];
}

export interface DefaultRoute {
  family: 'inet' | 'inet6';
  /** The next hop; absent for a route straight onto a link. */
  gateway?: string;
  interface: string;
  /** The preferred source address the route names (`src`), when it names one. */
  source?: string;
  metric: number;
}

/** The address a host presents as its own for one family: the default route's source, else the first global address on its interface. */
export interface PrimaryAddress {
  interface: string;
  address: string;
}

export interface NetworkFacts {
  interfaces: NetworkInterface[];
  /** Default routes, lowest metric first per family (IPv4 first). */
  defaultRoutes: DefaultRoute[];
  primaryIpv4?: PrimaryAddress;
  primaryIpv6?: PrimaryAddress;
  /** `ip` (netlink, complete) or `procfs` (fallback, no IPv4 addresses). */
  source: 'ip' | 'procfs';
}

const SCRIPT = sh`b64() { base64 -w0; }
if command -v ip >/dev/null 2>&1 && addr=$(ip -j addr show 2>/dev/null) && [ -n "$addr" ]; then
  echo source=ip
  printf 'addr=%s\\n' "$(printf '%s' "$addr" | b64)"
  printf 'route4=%s\\n' "$(ip -j -4 route show default 2>/dev/null | b64)"
  printf 'route6=%s\\n' "$(ip -j -6 route show default 2>/dev/null | b64)"
else
  echo source=procfs
  # Names from /proc/net/dev, which is per network namespace; /sys/class/net may be the machine's in a container.
  tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | while IFS= read -r name; do
    dir=/sys/class/net/$name
    printf 'link=%s %s %s %s\\n' "$(printf '%s' "$name" | b64)" "$(cat "$dir/address" 2>/dev/null || true)" "$(cat "$dir/mtu" 2>/dev/null || echo 0)" "$(cat "$dir/operstate" 2>/dev/null || echo unknown)"
  done
  printf 'procroute=%s\\n' "$(b64 < /proc/net/route)"
  printf 'ipv6route=%s\\n' "$( (cat /proc/net/ipv6_route 2>/dev/null || true) | b64)"
  printf 'inet6=%s\\n' "$( (cat /proc/net/if_inet6 2>/dev/null || true) | b64)"
fi
`;

interface IpAddrJson {
  ifname?: string;
  mtu?: number;
  operstate?: string;
  address?: string;
  addr_info?: Array<{ family?: string; local?: string; prefixlen?: number; scope?: string }>;
}
interface IpRouteJson {
  dst?: string;
  gateway?: string;
  dev?: string;
  prefsrc?: string;
  metric?: number;
}

function json<T>(text: string, what: string): T[] {
  if (text.trim() === '') return [];
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) throw new Error('not a list');
    return value as T[];
  } catch (error) {
    throw new FactError('network', `${what} is not the JSON list ip -j prints (${(error as Error).message}): ${text.slice(0, 200)}`);
  }
}

/** `ip -j addr show` output → interfaces. Pure. */
export function parseIpAddrJson(text: string): NetworkInterface[] {
  return json<IpAddrJson>(text, 'ip -j addr').map((link) => ({
    name: link.ifname ?? '',
    mac: (link.address ?? '').toLowerCase(),
    mtu: link.mtu ?? 0,
    state: (link.operstate ?? 'unknown').toLowerCase(),
    addresses: (link.addr_info ?? [])
      .filter((info) => (info.family === 'inet' || info.family === 'inet6') && info.local)
      .map((info) => ({ family: info.family as 'inet' | 'inet6', address: info.local!, prefixLength: info.prefixlen ?? 0, scope: info.scope ?? '' })),
  }));
}

/** `ip -j route show default` output for one family → default routes. Pure. */
export function parseIpRouteJson(text: string, family: 'inet' | 'inet6'): DefaultRoute[] {
  return json<IpRouteJson>(text, 'ip -j route')
    .filter((route) => route.dst === 'default' && route.dev)
    .map((route) => ({
      family,
      ...(route.gateway ? { gateway: route.gateway } : {}),
      interface: route.dev!,
      ...(route.prefsrc ? { source: route.prefsrc } : {}),
      metric: route.metric ?? 0,
    }));
}

/** /proc/net/route → IPv4 default routes (destination and mask 0). Addresses there are little-endian hex. Pure. */
export function parseProcNetRoute(text: string): DefaultRoute[] {
  const ipv4 = (hex: string): string => {
    const n = Number.parseInt(hex, 16);
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
  };
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length >= 8 && cols[1] === '00000000' && cols[7] === '00000000')
    .map((cols) => {
      const gateway = cols[2] === '00000000' ? undefined : ipv4(cols[2]!);
      return { family: 'inet' as const, ...(gateway ? { gateway } : {}), interface: cols[0]!, metric: Number(cols[6]) };
    });
}

/** 32 hex digits → an IPv6 address in its shortest form. */
function ipv6(hex: string): string {
  const groups = (hex.match(/.{4}/g) ?? []).map((group) => Number.parseInt(group, 16).toString(16));
  // Collapse the longest run of zero groups (at least two) into '::'.
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < groups.length; ) {
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
}

/** /proc/net/if_inet6 → name → IPv6 addresses. Scope column: 00 global, 20 link, 10 host. Pure. */
export function parseIfInet6(text: string): Map<string, InterfaceAddress[]> {
  const scopes: Record<string, string> = { '00': 'global', '20': 'link', '10': 'host', '40': 'site' };
  const byName = new Map<string, InterfaceAddress[]>();
  for (const line of text.split('\n')) {
    const [hex, , prefix, scope, , name] = line.trim().split(/\s+/);
    if (hex?.length !== 32 || !name) continue;
    const list = byName.get(name) ?? [];
    list.push({ family: 'inet6', address: ipv6(hex), prefixLength: Number.parseInt(prefix ?? '0', 16), scope: scopes[scope ?? ''] ?? scope ?? '' });
    byName.set(name, list);
  }
  return byName;
}

/** /proc/net/ipv6_route → IPv6 default routes (::/0 with a device other than lo). Pure. */
export function parseProcIpv6Route(text: string): DefaultRoute[] {
  return (
    text
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      // RTF_REJECT (0x200) marks the kernel's unreachable ::/0 placeholder, not a route.
      .filter((cols) => cols.length >= 10 && /^0{32}$/.test(cols[0]!) && cols[1] === '00' && cols[9] !== 'lo' && (Number.parseInt(cols[8]!, 16) & 0x200) === 0)
      .map((cols) => {
        const gateway = /^0{32}$/.test(cols[4]!) ? undefined : ipv6(cols[4]!);
        return { family: 'inet6' as const, ...(gateway ? { gateway } : {}), interface: cols[9]!, metric: Number.parseInt(cols[5]!, 16) };
      })
  );
}

/** The address the host presents for one family. */
export function primaryAddress(interfaces: NetworkInterface[], routes: DefaultRoute[], family: 'inet' | 'inet6'): PrimaryAddress | undefined {
  for (const route of routes.filter((candidate) => candidate.family === family)) {
    if (route.source) return { interface: route.interface, address: route.source };
    const found = interfaces
      .find((link) => link.name === route.interface)
      ?.addresses.find((address) => address.family === family && address.scope === 'global');
    if (found) return { interface: route.interface, address: found.address };
  }
  return undefined;
}

/** Parses the probe's output; pure, tested from captured output. */
export function parseNetworkFacts(stdout: string): NetworkFacts {
  const fields = parseFieldLines(stdout);
  const source = field(fields, 'source');
  let interfaces: NetworkInterface[];
  let routes: DefaultRoute[];
  if (source === 'ip') {
    interfaces = parseIpAddrJson(fromBase64(field(fields, 'addr') ?? ''));
    routes = [...parseIpRouteJson(fromBase64(field(fields, 'route4') ?? ''), 'inet'), ...parseIpRouteJson(fromBase64(field(fields, 'route6') ?? ''), 'inet6')];
  } else if (source === 'procfs') {
    const inet6 = parseIfInet6(fromBase64(field(fields, 'inet6') ?? ''));
    interfaces = (fields.get('link') ?? []).map((line) => {
      const [name = '', mac = '', mtu = '0', state = 'unknown'] = line.split(' ');
      const decoded = fromBase64(name);
      return { name: decoded, mac: mac.toLowerCase(), mtu: Number(mtu), state: state.toLowerCase(), addresses: inet6.get(decoded) ?? [] };
    });
    routes = [...parseProcNetRoute(fromBase64(field(fields, 'procroute') ?? '')), ...parseProcIpv6Route(fromBase64(field(fields, 'ipv6route') ?? ''))];
  } else {
    throw new FactError('network', `unexpected probe output: ${JSON.stringify(stdout.slice(0, 300))}`);
  }
  // Lowest metric first within a family, as the kernel prefers it; the sort is stable, so ties keep the kernel's order.
  routes.sort((a, b) => (a.family === b.family ? a.metric - b.metric : a.family === 'inet' ? -1 : 1));
  const primaryIpv4 = primaryAddress(interfaces, routes, 'inet');
  const primaryIpv6 = primaryAddress(interfaces, routes, 'inet6');
  return { interfaces, defaultRoutes: routes, ...(primaryIpv4 ? { primaryIpv4 } : {}), ...(primaryIpv6 ? { primaryIpv6 } : {}), source };
}

/** Interfaces, addresses and default routes; re-read after any change on the host. */
export const networkFacts: Fact<NetworkFacts> = {
  key: 'network',
  script: SCRIPT,
  parse: (output) => {
    if (output.exitCode !== 0) throw new FactError('network', `the probe failed (exit ${output.exitCode}): ${output.stderr.trim()}`);
    return parseNetworkFacts(output.stdout);
  },
};
