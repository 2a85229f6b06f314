#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the tests of fairtune's Slurm paths and for
# trying the templates without a real cluster. Needs root and no systemd.
#   bash scripts/slurm-local.sh start    install munge + Slurm if missing, write the config, start the daemons
#   bash scripts/slurm-local.sh stop     cancel all jobs, stop the daemons
#   bash scripts/slurm-local.sh status   the node and the queue; exits 3 with "not running" when
#                                        the daemons are stopped (the LSB status convention)
set -euo pipefail

CONF=/etc/slurm/slurm.conf
LOGDIR=/var/log/slurm

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_packages() {
  local need=()
  command -v munged >/dev/null || need+=(munge)
  command -v slurmctld >/dev/null || need+=(slurmctld)
  command -v slurmd >/dev/null || need+=(slurmd)
  command -v sbatch >/dev/null || need+=(slurm-client)
  if ((${#need[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
}

start_munge() {
  install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge
  install -d -o munge -g munge -m 0711 /var/lib/munge
  install -d -o munge -g munge -m 0755 /run/munge
  [ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    rm -f /run/munge/munged.pid /run/munge/munge.socket.2*
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  munge -n | unmunge >/dev/null
}

write_config() {
  local host node mem hw tmp
  host=$(hostname -s)
  node=$(slurmd -C | head -n 1)               # NodeName=... CPUs=2 Boards=1 ... RealMemory=N
  mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
  mem=$((mem * 95 / 100))                      # slurmd drains a node that reports less than configured
  hw=$(sed -e 's/^NodeName=[^ ]* //' -e 's/ RealMemory=[0-9]*//' <<<"$node")
  install -d -m 0755 /etc/slurm "$LOGDIR" /var/spool/slurmctld /var/spool/slurmd
  tmp=$(mktemp)
  cat >"$tmp" <<CONF
# Written by fairtune's scripts/slurm-local.sh: one node, root daemons, no accounting database.
ClusterName=local
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# Short credential lifetime: a requeued job may start again after about 11 s instead of 121 s.
AuthInfo=cred_expire=10
CredType=cred/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=${LOGDIR}/slurmctld.log
SlurmdLogFile=${LOGDIR}/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# Open MPI here is built with PMIx; other plugins start N unconnected singletons.
MpiDefault=pmix
SwitchType=switch/none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
# A job whose dependency can never be met is cancelled instead of pending forever.
DependencyParameters=kill_invalid_depend
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/filetxt
JobCompLoc=${LOGDIR}/jobcomp.log
MinJobAge=86400
MaxArraySize=10001
KillWait=10
InactiveLimit=0
SlurmdTimeout=60
NodeName=${host} NodeAddr=127.0.0.1 ${hw} RealMemory=${mem} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  if cmp -s "$tmp" "$CONF"; then rm -f "$tmp"; return 1; fi
  mv "$tmp" "$CONF"
  chmod 0644 "$CONF"
  return 0
}

start() {
  install_packages
  start_munge
  local changed=0
  write_config && changed=1
  if alive /run/slurmctld.pid; then
    [ "$changed" = 1 ] && scontrol reconfigure
  else
    rm -f /run/slurmctld.pid
    /usr/sbin/slurmctld
  fi
  for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.2; done
  if ! alive /run/slurmd.pid; then
    rm -f /run/slurmd.pid
    /usr/sbin/slurmd
  fi
  local host state=""
  host=$(hostname -s)
  for _ in $(seq 100); do
    state=$(sinfo -h -n "$host" -o '%t' 2>/dev/null || true)
    case "$state" in idle*|mix*|alloc*) break ;; esac
    sleep 0.2
  done
  case "$state" in
    idle*|mix*|alloc*) ;;
    *) scontrol update NodeName="$host" State=RESUME 2>/dev/null || true
       sleep 1
       state=$(sinfo -h -n "$host" -o '%t') ;;
  esac
  echo "slurm-local: node $host is $state"
}

stop_daemon() {
  local name=$1 pidfile=$2 pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "slurm-local: stopped $name"
  fi
  rm -f "$pidfile"
}

stop() {
  if alive /run/slurmctld.pid; then
    local ids
    ids=$(squeue -h -o %A 2>/dev/null | sort -u)
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086
      scancel $ids
      for _ in $(seq 60); do [ -z "$(squeue -h -t R,CG 2>/dev/null)" ] && break; sleep 0.5; done
    fi
  fi
  stop_daemon slurmd /run/slurmd.pid
  stop_daemon slurmctld /run/slurmctld.pid
  stop_daemon munged /run/munge/munged.pid
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    if ! alive /run/slurmctld.pid || ! alive /run/slurmd.pid; then
      echo "slurm-local: not running (start it with: bash $0 start)"
      exit 3
    fi
    sinfo; squeue ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
