# The floor: the benchmark's node preparation as one plain shell script, run by bash on the host in one
# SSH session (bench/floor/run.sh starts one per host, all at once). bench/cli.ts puts a prelude before
# this text that sets MODE (apply or check) and the values of bench/work.ts; the hosts block lines come
# from the inventory. Each step reads first and changes only what differs, like drover and Ansible, so a
# second apply changes nothing and MODE=check only reads. Prints one "changed:" line per change.
set -u
changed=0
note() { changed=$((changed + 1)); echo "changed: $1"; }
applying() { [ "$MODE" = apply ]; }
must() { "$@" || { echo "FAILED on $(hostname): $*" >&2; exit 1; }; }

# ensure_file PATH MODE CONTENT: the file holds exactly CONTENT with MODE (written atomically).
ensure_file() {
  if [ -f "$1" ] && [ "$(cat "$1"; echo x)" = "${3}x" ] && [ "$(stat -c %a "$1")" = "${2#0}" ]; then return 1; fi
  note "$1"
  applying || return 0
  tmp=$(mktemp "$1.XXXXXX") || exit 1
  must printf '%s' "$3" > "$tmp"
  must chmod "$2" "$tmp"
  must mv -f "$tmp" "$1"
}

# swap off now and in fstab: the areas this host can reach (in a container /proc/swaps also lists the
# machine's own, which swapoff cannot turn off from inside; drover's swapoff module skips those too)
for area in $(swapon --show=NAME --noheadings); do
  if [ -e "$area" ]; then note "swap $area"; applying && must swapoff "$area"; fi
done
SWAP_LINE='^[^#[:space:]][^[:space:]]*[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]]'
if grep -qE "$SWAP_LINE" /etc/fstab; then
  note "fstab swap"
  applying && must sed -i -E "s/(${SWAP_LINE}.*)$/# \\1/" /etc/fstab
fi

# modules-load file
ensure_file "$MODULES_LOAD_FILE" 0644 "$MODULES_LOAD_CONTENT"

# sysctls in the file and live
sysctl_content=''
for setting in $SYSCTLS; do sysctl_content="${sysctl_content}${setting%%=*} = ${setting#*=}
"; done
ensure_file "$SYSCTL_FILE" 0644 "$sysctl_content"
for setting in $SYSCTLS; do
  if [ "$(sysctl -n "${setting%%=*}")" != "${setting#*=}" ]; then note "sysctl ${setting%%=*}"; applying && must sysctl -qw "$setting"; fi
done

# the nodes block of /etc/hosts (the rest of the file kept)
hosts_now=$(cat /etc/hosts; echo x)
hosts_wanted=$(awk -v b="# BEGIN $HOSTS_MARKER" -v e="# END $HOSTS_MARKER" '$0 == b { skip = 1; next } $0 == e { skip = 0; next } !skip' /etc/hosts
  printf '# BEGIN %s\n%s# END %s\n' "$HOSTS_MARKER" "$HOSTS_BLOCK" "$HOSTS_MARKER"; echo x)
if [ "$hosts_now" != "$hosts_wanted" ]; then ensure_file /etc/hosts 0644 "${hosts_wanted%x}"; fi

# a directory and a runtime config file
if [ ! -d "$CONFIG_DIR" ] || [ "$(stat -c %a "$CONFIG_DIR")" != 755 ]; then note "$CONFIG_DIR"; applying && must mkdir -p -m 0755 "$CONFIG_DIR" && must chmod 0755 "$CONFIG_DIR"; fi
ensure_file "$CONFIG_FILE" 0644 "$CONFIG_CONTENT"

# a unit file, enabled and started
if ensure_file "$UNIT_FILE" 0644 "$UNIT_CONTENT" && applying; then must systemctl daemon-reload; fi
systemctl is-enabled -q "$UNIT_NAME" 2> /dev/null || { note "enable $UNIT_NAME"; applying && must systemctl enable -q "$UNIT_NAME"; }
systemctl is-active -q "$UNIT_NAME" || { note "start $UNIT_NAME"; applying && must systemctl start "$UNIT_NAME"; }

# an iptables rule
RULE="INPUT -p tcp --dport $IPTABLES_PORT -m comment --comment $IPTABLES_COMMENT -j ACCEPT"
iptables -w -C $RULE 2> /dev/null || { note iptables; applying && must iptables -w -A $RULE; }

# a tmpfs entry in fstab
FSTAB_LINE="tmpfs $TMPFS_PATH tmpfs $TMPFS_OPTS 0 0"
if ! grep -qxF "$FSTAB_LINE" /etc/fstab; then
  note "fstab $TMPFS_PATH"
  if applying; then
    fstab=$(awk -v p="$TMPFS_PATH" '$2 != p' /etc/fstab; echo x)
    ensure_file /etc/fstab 0644 "${fstab%x}${FSTAB_LINE}
" > /dev/null
  fi
fi

echo "$(hostname): $changed changed"
