/**
 * Undoes playbooks/cluster.ts's cluster (not its node preparation), so a failed attempt can be retried
 * from clean: `kubeadm reset -f` on every node, then what kubeadm reset itself leaves behind (its own
 * closing text lists it): the CNI configuration in /etc/cni/net.d, the CNI's and kube-proxy's network
 * interfaces, their iptables chains (KUBE-*, cali-*; other rules stay), IPVS virtual servers, the admin
 * kubeconfig and drover's kubeadm files. Each is a task only where it is present: a second reset changes
 * nothing. Packages, containerd and the prepared kernel settings stay (run cluster.ts again to rejoin).
 *
 *   npx tsx run playbooks/reset.ts -i inventory.yaml --check   # what would be removed
 *   npx tsx run playbooks/reset.ts -i inventory.yaml
 *
 * In the lab, kubeadm is the lab's Kubernetes stand-in (lab/k8s-standin/README.md), not Kubernetes.
 */
import { definePlaybook, s } from '../runner/playbook.ts';

const CLUSTER_GROUP = 'k8s';
/** Interfaces the usual CNIs and kube-proxy (IPVS) create. */
const CNI_INTERFACES = ['cni0', 'flannel.1', 'tunl0', 'vxlan.calico', 'kube-ipvs0', 'weave', 'cilium_host', 'cilium_vxlan'];

const book = definePlaybook({
  name: 'kubeadm cluster reset',
  vars: s.object({
    /** The user whose ~/.kube/config cluster.ts installed (kubeconfig_user there). */
    kubeconfig_user: s.string({ pattern: /^[a-z_][a-z0-9_-]*$/, what: 'a user name' }).default('root'),
  }),
});

/** Read-only: which leftovers exist, one `name=value` line each. */
const PROBE = `if command -v kubeadm >/dev/null 2>&1 && { [ -n "$(find /etc/kubernetes/manifests /etc/kubernetes/pki /var/lib/etcd -mindepth 1 2>/dev/null | head -n 1)" ] || [ -e /etc/kubernetes/kubelet.conf ] || [ -e /etc/kubernetes/admin.conf ]; }; then echo kubeadm=yes; else echo kubeadm=no; fi
if [ -n "$(find /etc/cni/net.d -mindepth 1 2>/dev/null | head -n 1)" ]; then echo cni=yes; else echo cni=no; fi
links=""
for name in ${CNI_INTERFACES.join(' ')}; do [ -e "/sys/class/net/$name" ] && links="$links $name"; done
for path in /sys/class/net/cali*; do [ -e "$path" ] && links="$links \${path##*/}"; done
echo "links=$links"
if command -v iptables-save >/dev/null 2>&1 && iptables-save 2>/dev/null | grep -qE '(KUBE-|cali-)'; then echo iptables=yes; else echo iptables=no; fi
if command -v ipvsadm >/dev/null 2>&1 && [ -n "$(ipvsadm -Ln 2>/dev/null | awk 'NR>3')" ]; then echo ipvs=yes; else echo ipvs=no; fi
home=$(getent passwd "$KUSER" | cut -d: -f6)
if [ -n "$home" ] && [ -e "$home/.kube/config" ]; then echo "kubeconfig=$home/.kube/config"; else echo kubeconfig=; fi
if [ -e /etc/kubernetes/drover ]; then echo drover=yes; else echo drover=no; fi
`;

function field(text: string, name: string): string {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}=`));
  return line === undefined ? '' : line.slice(name.length + 1).trim();
}

const reset = book.play({
  name: 'reset kubeadm cluster',
  hosts: CLUSTER_GROUP,
  become: true,
  tasks: async (t, host) => {
    const probe = await t.shell('what is left of the cluster', { cmd: PROBE, env: { KUSER: host.vars.kubeconfig_user }, readOnly: true });
    const left = (name: string) => field(probe.stdout, name);
    if (left('kubeadm') === 'yes') await t.command('kubeadm reset', { argv: ['kubeadm', 'reset', '-f'], timeout: 600 });
    if (left('cni') === 'yes') await t.shell('CNI configuration removed', { cmd: 'rm -rf /etc/cni/net.d/* /var/lib/cni' });
    const links = left('links').split(/\s+/).filter(Boolean);
    for (const link of links) await t.command(`interface ${link} removed`, { argv: ['ip', 'link', 'delete', link] });
    if (left('iptables') === 'yes') {
      // Only kube-proxy's and Calico's chains and the rules that jump to them; the site's own rules stay.
      await t.shell('kube-proxy and CNI iptables chains removed', {
        cmd: `for save in iptables-save ip6tables-save; do
  command -v "$save" >/dev/null 2>&1 || continue
  restore=\${save%-save}-restore
  $save | grep -vE '(KUBE-|cali-)' | $restore
done`,
      });
    }
    if (left('ipvs') === 'yes') await t.command('IPVS virtual servers cleared', { argv: ['ipvsadm', '--clear'] });
    const kubeconfig = left('kubeconfig');
    if (kubeconfig !== '') await t.file('admin kubeconfig removed', { path: kubeconfig, state: 'absent' });
    if (left('drover') === 'yes') await t.file("drover's kubeadm files removed", { path: '/etc/kubernetes/drover', state: 'absent' });
  },
});

export default book.playbook([reset]);
