#!/bin/bash
# The floor's controller: plain OpenSSH, one session per host, every host at once, each running the same
# script (bench/floor/prep.sh with its prelude) on bash's stdin. Host keys are checked against the lab's
# known_hosts, like drover; no connection sharing (ControlMaster off) and no user ssh config (-F /dev/null).
#   run.sh SCRIPT KEY KNOWN_HOSTS OUTPUT_DIR ADDRESS...
# Exits 1 when any host's session failed; each host's output is in OUTPUT_DIR/ADDRESS.out.
set -u
script=$1 key=$2 known_hosts=$3 out=$4
shift 4
mkdir -p "$out"
pids=()
for address in "$@"; do
  ssh -F /dev/null -i "$key" -o UserKnownHostsFile="$known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes \
    -o ControlMaster=no -o ConnectTimeout=30 "root@$address" bash -s < "$script" > "$out/$address.out" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
