#!/usr/bin/env bash
# The newcomer's first run: sets everything up, brings up three lab hosts and runs the node preparation
# of playbooks/cluster.ts against them: first --check (what would change, with diffs), then for real,
# then again to show that nothing changes the second time. Leaves the lab up (`npm run lab -- down`).
#
# Where this machine cannot host a lab (not root, or no systemd-nspawn), it says so and runs the
# cluster playbook with --check against localhost over the local connection, which changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  step "installing the lab's Debian packages"
  bash .ci/lab-prereqs.sh
fi
step "installing npm dependencies"
npm ci --no-audit --no-fund --loglevel=error

if [ "$(id -u)" -ne 0 ] || ! command -v systemd-nspawn >/dev/null; then
  step "this machine cannot host the lab (needs root and systemd-nspawn): dry run against localhost instead"
  printf 'all:\n  children:\n    k8s:\n      hosts:\n        localhost:\n          ansible_connection: local\n          manage_hostname: false\n          node_ip: 127.0.0.1\n' > /tmp/drover-demo-localhost.yaml
  npx tsx run playbooks/cluster.ts -i /tmp/drover-demo-localhost.yaml --tags prep --check --diff
  exit 0
fi

step "bringing up three lab hosts"
npm run --silent lab -- up 3
# The lab instance's own directory (lab/paths.ts): .lab for instance 0, .lab-K for DROVER_LAB_INSTANCE=K.
instance=${DROVER_LAB_INSTANCE:-0}
lab=.lab
if [ "$instance" != 0 ]; then lab=.lab-$instance; fi

step "1/3 dry run: what would change (nothing is changed)"
npx tsx run playbooks/cluster.ts -i "$lab/inventory.yaml" --limit lab-1,lab-2,lab-3 --tags prep --check --diff

step "2/3 apply"
npx tsx run playbooks/cluster.ts -i "$lab/inventory.yaml" --limit lab-1,lab-2,lab-3 --tags prep

step "3/3 apply again: nothing changes"
npx tsx run playbooks/cluster.ts -i "$lab/inventory.yaml" --limit lab-1,lab-2,lab-3 --tags prep

step "the audit logs of these runs verify"
npx tsx run audit verify $(ls -t audit/*.jsonl | head -3)
echo
echo "The lab stays up: try 'npx tsx run exec all -i $lab/inventory.yaml -- uptime'; 'npm run lab -- down' removes it."
