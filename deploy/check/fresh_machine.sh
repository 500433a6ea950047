#!/bin/sh
# README's "With systemd and nginx" steps followed on a fresh Debian 12: a root made by debootstrap, booted with
# systemd-nspawn (systemd is PID 1 inside, its own network behind NAT), and the steps run in it as README writes
# them (deploy/check/readme_steps.py takes them from README.md, filling in only what an operator types or edits:
# the repository's address, passwords, the secrets in grid.env, a self-signed certificate, the map). Then, through
# nginx with TLS: /healthz, /readyz, a login, a request filed and its ticket read; the delivery workers sending its
# SMS; the sweep timer's runs; the daily unit; a graceful reload; a backup restored into a fresh database.
#
#   sudo deploy/check/fresh_machine.sh [COMMIT]       # default HEAD; about 5 minutes, 2 GB under $GRID_FRESH_DIR
#
# Needs root, debootstrap, systemd-container (systemd-nspawn), iptables, git, and Debian's mirror and PyPI and
# npm's registry reachable. The machine it runs on needs neither systemd as init nor Docker. GRID_FRESH_KEEP=1
# leaves the container running (enter it: nsenter -t "$(cat $GRID_FRESH_DIR/leader)" -a bash).
set -eu
repository=$(cd "$(dirname "$0")/../.." && pwd)
commit=$(git -C "$repository" rev-parse "${1:-HEAD}")
dir=${GRID_FRESH_DIR:-/var/tmp/grid-fresh}
name=grid-fresh
net=${GRID_FRESH_NET:-10.77.0}
mirror=${GRID_FRESH_MIRROR:-http://deb.debian.org/debian}
root=$dir/root

say() { printf '== %s\n' "$*"; }
inside() { nsenter -t "$(cat "$dir/leader")" -m -u -i -n -p -C --root env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

cleanup() {
    [ "${GRID_FRESH_KEEP:-0}" = 1 ] && { say "left running: $name (leader $(cat "$dir/leader"))"; return; }
    [ -f "$dir/nspawn.pid" ] && kill "$(cat "$dir/nspawn.pid")" 2>/dev/null && sleep 5
    [ -f "$dir/gitd.pid" ] && kill "$(cat "$dir/gitd.pid")" 2>/dev/null
    iptables -t nat -D POSTROUTING -s "$net.0/24" ! -o "ve-$name" -j MASQUERADE 2>/dev/null || true
    [ -f "$dir/ip_forward" ] && cat "$dir/ip_forward" > /proc/sys/net/ipv4/ip_forward
    rm -f "$dir/nspawn.pid" "$dir/gitd.pid"
}

rm -rf "$dir" && mkdir -p "$dir"
say "debootstrap bookworm into $root"
debootstrap --include=dbus,sudo,curl,ca-certificates bookworm "$root" "$mirror" > "$dir/debootstrap.log" 2>&1
echo "$name" > "$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 %s grid.example.gov.cn\n::1 localhost\n' "$name" > "$root/etc/hosts"
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
    "$mirror" "$mirror" > "$root/etc/apt/sources.list"
nameserver=$(awk '/^nameserver/ { print $2; exit }' /etc/resolv.conf)
rm -f "$root/etc/resolv.conf" && echo "nameserver $nameserver" > "$root/etc/resolv.conf"
mkdir -p "$root/etc/systemd/network"
printf '[Match]\nName=host0\n\n[Network]\nAddress=%s.2/24\nGateway=%s.1\n' "$net" "$net" \
    > "$root/etc/systemd/network/10-host0.network"
chroot "$root" systemctl enable systemd-networkd > /dev/null 2>&1
# A network whose HTTPS goes through an intercepting proxy: its certificate authority, trusted by apt, pip and npm.
if ls /usr/local/share/ca-certificates/*.crt > /dev/null 2>&1; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates > /dev/null 2>&1
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$root/etc/pip.conf"
    echo 'cafile=/etc/ssl/certs/ca-certificates.crt' > "$root/etc/npmrc"
fi

say "the repository at $commit, served to the machine by git daemon"
mkdir -p "$dir/git"
git clone -q --bare "$repository" "$dir/git/grid.git"
git -C "$dir/git/grid.git" branch -f fresh-check "$commit" && git -C "$dir/git/grid.git" symbolic-ref HEAD refs/heads/fresh-check

say "boot $name (systemd-nspawn, veth $net.0/24 behind NAT)"
trap cleanup EXIT
setsid nice -n 10 systemd-nspawn -b -D "$root" -M "$name" --network-veth --register=no --keep-unit \
    --console=read-only > "$dir/boot.log" 2>&1 &
echo $! > "$dir/nspawn.pid"
for _ in $(seq 1 60); do
    leader=$(pgrep -P "$(cat "$dir/nspawn.pid")" | head -1 || true)
    [ -n "$leader" ] && ip link show "ve-$name" > /dev/null 2>&1 && break
    sleep 1
done
echo "$leader" > "$dir/leader"
cat /proc/sys/net/ipv4/ip_forward > "$dir/ip_forward"
ip addr add "$net.1/24" dev "ve-$name" && ip link set "ve-$name" up
echo 1 > /proc/sys/net/ipv4/ip_forward
iptables -t nat -A POSTROUTING -s "$net.0/24" ! -o "ve-$name" -j MASQUERADE
setsid git daemon --export-all --base-path="$dir/git" --listen="$net.1" --reuseaddr "$dir/git" > "$dir/gitd.log" 2>&1 &
echo $! > "$dir/gitd.pid"
inside systemctl is-system-running --wait || true
inside apt-get update -q > "$dir/apt-update.log"

say "README's steps"
python3 "$repository/deploy/check/readme_steps.py" "$repository/README.md" "git://$net.1/grid.git" > "$root/root/readme-steps.sh"
python3 "$repository/deploy/check/readme_steps.py" --map > "$root/root/district.geojson"
admin_password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
inside env ADMIN_PASSWORD="$admin_password" DB_PASSWORD="$(python3 -c 'import secrets; print(secrets.token_hex(16))')" \
    DEBIAN_FRONTEND=noninteractive sh -c 'cd /root && bash -ex /root/readme-steps.sh' > "$dir/steps.log" 2>&1 \
    || { tail -30 "$dir/steps.log"; exit 1; }
grep -E '^(created admin|seeded|created [0-9]|\{"migration")' "$dir/steps.log" || true

say "checks through nginx"
cp "$repository/deploy/check/walk.sh" "$root/root/walk.sh"
inside env ADMIN_PASSWORD="$admin_password" sh /root/walk.sh
say "all steps followed and checked (logs in $dir)"
