#!/bin/sh
# Stop the one-node SLURM cluster started by scripts/slurm/start.sh: slurmd, slurmctld and
# munged, each by the pid in its pid file (never by process name). Exits 0 when nothing runs.
set -u
say() { echo "slurm/stop.sh: $*"; }
if [ "$(id -u)" != 0 ]; then
    say "not root: cannot stop the daemons"
    exit 2
fi
if [ -f /etc/slurm/slurm.conf ] && ! grep -q anodefree-test-cluster /etc/slurm/slurm.conf; then
    say "/etc/slurm/slurm.conf is not the anodefree test cluster: not stopping anything"
    exit 5
fi
for entry in slurmd:/run/slurmd.pid slurmctld:/run/slurmctld.pid munged:/run/munge/munged.pid; do
    name=${entry%%:*}
    pidfile=${entry#*:}
    if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        pid=$(cat "$pidfile")
        kill "$pid"
        i=0
        while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 20 ]; do
            sleep 0.5
            i=$((i + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "$name (pid $pid) still running after 10 s"
        else
            say "stopped $name (pid $pid)"
        fi
    fi
done
exit 0
