#!/usr/bin/env bash
# Installs the Debian packages the drover lab and the test suite need on the controller (see lab/preflight.ts for the
# programs they provide). Safe to run again. Needs root and Debian 12 apt sources.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "lab-prereqs: run as root (apt-get install)" >&2
  exit 1
fi

packages=(
  systemd-container     # systemd-nspawn: boots each lab host
  mmdebstrap            # builds the hosts' Debian 12 root filesystem
  debian-archive-keyring
  openssh-client        # ssh, ssh-keygen: the lab key, host keys, tests
  openssh-server        # /usr/sbin/sshd: the transport tests start their own sshd on loopback
  iproute2              # ip: bridge, network namespaces, veth pairs
  iptables
  mount                 # mount/umount: each host's overlay root
  dpkg-dev              # dpkg-scanpackages: the hosts' local apt repository
  rpm                   # rpmbuild: test RPMs for the dnf host repository
  createrepo-c          # createrepo_c: the RPM repository metadata
  ca-certificates
  gnupg                 # gpg: the aptRepository test signs its own repository
  procps                # ps, pkill: the transport tests look for the processes a session left behind
  python3               # the Kubernetes stand-in's config tests run its validator on the controller
  chromium              # headless browser: test/cli/audit-report.lab.test.ts renders the audit report
  ansible               # the benchmark compares drover with Ansible; test/bench/same-work.lab.test.ts checks both do the same work
)

export DEBIAN_FRONTEND=noninteractive
# Another apt at work (unattended-upgrades on a fresh machine, a second checkout's CI) is waited for, up to
# 10 minutes, instead of failing: dpkg's lock through DPkg::Lock::Timeout, the lists' lock (which that option
# does not cover in `apt-get update`) by trying again while apt says the lock is held.
for attempt in $(seq 120); do
  if err=$(apt-get -o DPkg::Lock::Timeout=600 update -qq 2>&1 >/dev/null); then break; fi
  if ! grep -q 'Could not get lock' <<<"$err" || [ "$attempt" -eq 120 ]; then
    echo "$err" >&2
    exit 1
  fi
  [ "$attempt" -eq 1 ] && echo "lab-prereqs: another apt-get holds apt's lock; waiting for it" >&2
  sleep 5
done
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "lab-prereqs: installed ${packages[*]}"
