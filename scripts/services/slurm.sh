#!/usr/bin/env bash
# A real single-node Slurm cluster (slurmctld + slurmd + munged) for the Slurm tests.
#
#   scripts/services/slurm.sh install      # apt-get install the Debian packages if missing
#   scripts/services/slurm.sh start DIR    # a cluster configured in DIR; prints the export line
#   scripts/services/slurm.sh stop DIR
#
# The tests start their own cluster when Slurm is installed (tests/slurm/conftest.py), so
# CI only needs `install`. `start` is for running the tests or benchmarks against one
# cluster you keep:  eval "$(scripts/services/slurm.sh start /tmp/outflow-slurm)"
# SLURMCTLD_PORT and SLURMD_PORT (default 6817 and 6818) let two clusters run side by side.
# As root, with no systemd: every daemon is started here and forks. The node and the
# controller are this host (`hostname -s`).
set -euo pipefail

PACKAGES=(slurmctld slurmd munge slurm-client)

install() {
    if command -v slurmctld >/dev/null 2>&1 && command -v slurmd >/dev/null 2>&1 \
            && command -v munged >/dev/null 2>&1 && command -v sbatch >/dev/null 2>&1; then
        echo "Slurm is installed: $(slurmctld -V)" >&2
        return
    fi
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
    echo "Slurm installed: $(slurmctld -V)" >&2
}

write_config() {
    local dir=$1 host cpus memory
    host=$(hostname -s)
    # More CPUs than the machine has (config_overrides): array elements of trivial items
    # start in parallel; the tests measure outflow, not the node.
    cpus=$(( $(nproc) * 4 ))
    memory=$(awk '/MemTotal/ {print int($2 / 1024 / 2)}' /proc/meminfo)
    cat > "$dir/slurm.conf" <<EOF
ClusterName=outflow
SlurmctldHost=$host
SlurmctldPort=${SLURMCTLD_PORT:-6817}
SlurmdPort=${SLURMD_PORT:-6818}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmdParameters=config_overrides
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
MinJobAge=300
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.log
MailProg=/bin/true
MaxArraySize=1001
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
    local dir=${1:?usage: start DIR}
    mkdir -p "$dir/state" "$dir/spool"
    dir=$(cd "$dir" && pwd)
    write_config "$dir"
    export SLURM_CONF=$dir/slurm.conf
    mkdir -p /run/munge
    chown munge:munge /run/munge
    if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        if [ ! -s /etc/munge/munge.key ]; then  # the package's postinst usually made it
            mungekey --create --keyfile=/etc/munge/munge.key
            chown munge:munge /etc/munge/munge.key
            chmod 0600 /etc/munge/munge.key
        fi
        runuser -u munge -- /usr/sbin/munged
        touch "$dir/munged.ours"
    fi
    slurmctld -f "$SLURM_CONF"
    slurmd -f "$SLURM_CONF"
    for _ in $(seq 200); do
        if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
            echo "export SLURM_CONF=$SLURM_CONF"
            return
        fi
        sleep 0.1
    done
    echo "the Slurm node did not become idle; see $dir/slurmctld.log and $dir/slurmd.log" >&2
    exit 1
}

stop() {
    local dir=${1:?usage: stop DIR}
    export SLURM_CONF=$dir/slurm.conf
    scontrol shutdown >/dev/null 2>&1 || true
    for pidfile in "$dir/slurmctld.pid" "$dir/slurmd.pid"; do
        if [ -f "$pidfile" ]; then
            local pid
            pid=$(cat "$pidfile")
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    if [ -f "$dir/munged.ours" ]; then
        runuser -u munge -- /usr/sbin/munged --stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "${1:-install}" in
    install) install ;;
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    *) echo "usage: $0 install | start DIR | stop DIR" >&2; exit 2 ;;
esac
