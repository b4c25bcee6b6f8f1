#!/bin/sh
# Start a one-node SLURM cluster on this machine (munged, slurmctld, slurmd on localhost)
# for anodefree's queue tests, and wait until the node is idle.
#
# Idempotent: exits 0 at once when the cluster already answers with an idle (or busy) node.
# The Debian packages (slurm-wlm, munge) are installed by scripts/install_system_deps.sh.
#
# Exit codes (the test fixture turns the non-zero ones into a skip with this reason):
#   0  the cluster is up
#   2  not root (starting the daemons needs root)
#   3  slurm-wlm or munge is not installed
#   4  a daemon did not start or the node did not become idle in time (see the logs named)
#   5  /etc/slurm/slurm.conf belongs to another cluster (no anodefree marker): left alone
#
# Settings (environment): SLURM_TEST_CPUS (default: nproc), SLURM_TEST_MEMORY_MB (default:
# 80 % of MemTotal), SLURM_TEST_TIMEOUT (seconds to wait for the node, default 60).
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
CONF=/etc/slurm/slurm.conf
MARKER=anodefree-test-cluster
TIMEOUT=${SLURM_TEST_TIMEOUT:-60}

say() { echo "slurm/start.sh: $*"; }

node_state() {
    # Compact state of the single node (idle, mix, alloc, down, drain, ...), empty if no answer.
    timeout 10 sinfo -h -N -o %t 2>/dev/null | head -n 1 | tr -d '*~#$@+ '
}

# 0. Already running and answering? Nothing to do (also when not root).
if command -v sinfo >/dev/null 2>&1; then
    case "$(node_state)" in
        idle|mix|alloc|comp) say "cluster already up ($(node_state))"; exit 0 ;;
    esac
fi

# 1. Preconditions.
if [ "$(id -u)" != 0 ]; then
    say "not root: cannot start munged/slurmctld/slurmd (the SLURM tests skip)"
    exit 2
fi
missing=""
for exe in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd /usr/bin/sinfo /usr/bin/sbatch; do
    [ -x "$exe" ] || missing="$missing $exe"
done
if [ -n "$missing" ]; then
    say "missing$missing: install the Debian packages slurm-wlm and munge (scripts/install_system_deps.sh)"
    exit 3
fi
if [ -f "$CONF" ] && ! grep -q "$MARKER" "$CONF"; then
    say "$CONF exists and was not written by this script: not touching another cluster's configuration"
    exit 5
fi

# 2. Configuration derived from this host.
HOST=$(hostname -s)
CPUS=${SLURM_TEST_CPUS:-$(nproc)}
MEM_TOTAL_MB=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
MEMORY=${SLURM_TEST_MEMORY_MB:-$((MEM_TOTAL_MB * 8 / 10))}
if getent hosts "$HOST" >/dev/null 2>&1; then
    CTLD_HOST=$HOST
    NODEADDR=""
else
    # The short host name does not resolve: address the node through the loopback.
    CTLD_HOST="$HOST(127.0.0.1)"
    NODEADDR="NodeAddr=127.0.0.1"
fi
tmp=$(mktemp)
sed -e "s|@CTLD_HOST@|$CTLD_HOST|" -e "s|@HOST@|$HOST|g" -e "s|@NODEADDR@|$NODEADDR|" \
    -e "s|@CPUS@|$CPUS|" -e "s|@MEMORY@|$MEMORY|" "$HERE/slurm.conf.in" > "$tmp"
install -d -m 0755 /etc/slurm
if ! cmp -s "$tmp" "$CONF" 2>/dev/null; then
    install -m 0644 "$tmp" "$CONF"
    CONF_CHANGED=1
else
    CONF_CHANGED=0
fi
rm -f "$tmp"

# 3. Directories.
install -d -o munge -g munge -m 0755 /run/munge
install -d -o slurm -g slurm -m 0755 /var/spool/slurmctld /var/log/slurm
install -d -m 0755 /var/spool/slurmd

running() {  # running <pidfile>: the process named in the pid file is alive
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# 4. Daemons (each only if not already running).
if [ ! -s /etc/munge/munge.key ]; then
    runuser -u munge -- /usr/sbin/mungekey --create >/dev/null || { say "could not create the munge key"; exit 4; }
fi
if ! running /run/munge/munged.pid; then
    runuser -u munge -- /usr/sbin/munged || { say "munged did not start (see /var/log/munge/munged.log)"; exit 4; }
fi
if [ "$CONF_CHANGED" = 1 ]; then
    # A new configuration needs fresh daemons; stop ours (by pid file) if they run.
    for pidfile in /run/slurmd.pid /run/slurmctld.pid; do
        if running "$pidfile"; then
            kill "$(cat "$pidfile")" 2>/dev/null
            sleep 1
        fi
    done
fi
if ! running /run/slurmctld.pid; then
    /usr/sbin/slurmctld || { say "slurmctld did not start (see /var/log/slurm/slurmctld.log)"; exit 4; }
fi
if ! running /run/slurmd.pid; then
    /usr/sbin/slurmd || { say "slurmd did not start (see /var/log/slurm/slurmd.log)"; exit 4; }
fi

# 5. Wait for the node.
waited=0
while [ "$waited" -lt "$TIMEOUT" ]; do
    state=$(node_state)
    case "$state" in
        idle|mix|alloc) say "cluster up: node $HOST $state, $CPUS CPUs, $MEMORY MB"; exit 0 ;;
        down|drain|drng|fail)
            # e.g. left down by an earlier unclean stop
            scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 ;;
    esac
    sleep 1
    waited=$((waited + 1))
done
say "node $HOST not idle after ${TIMEOUT}s (state: '$(node_state)'); see /var/log/slurm/slurmctld.log and slurmd.log"
exit 4
