#!/usr/bin/env bash
# Brings up Usine's test lab on this machine (Debian 12 / Ubuntu, as root), idempotently:
#   munge, MariaDB + slurmdbd, slurmctld + slurmd (partitions cpu and gpu, four GRES GPUs),
#   slurmrestd with JWT on 127.0.0.1:6820, an sshd on 127.0.0.1:2222 (key user alice,
#   password + TOTP user bob, certificate user carol) and a jump host sshd on 127.0.0.1:2200,
#   plus a stand-in nvidia-smi under /opt/usine-lab/bin (off the default PATH).
# Every daemon it starts has its PID recorded under $LAB_STATE/pids; down.sh stops exactly those.
# Client material for tests (keys, certificates, known_hosts, lab.env) lands in $LAB_STATE/client.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root (the lab installs packages, adds users and starts daemons)"
t0=$(date +%s.%N)

PACKAGES=(munge slurm-wlm slurmctld slurmd slurm-client slurmdbd slurmrestd slurm-wlm-jwt-plugin
  mariadb-server openssh-server openssh-client libpam-google-authenticator oathtool curl jq
  python3 python3-venv procps openssl)

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  log "installing ${missing[*]}"
  # Keep the packages' own init scripts from starting daemons (sshd on :22, mariadb, munge).
  local made_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -q
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
  [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
}

# Writes stdin to $1 when it differs; returns 0 when it changed, so callers can restart a daemon.
write_if_changed() {
  local file=$1 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [ -f "$file" ] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
    return 1
  fi
  install -D -m 0644 "$tmp" "$file"
  rm -f "$tmp"
  return 0
}

CHANGED=()
mark_changed() { CHANGED+=("$1"); }
is_changed() { local c; for c in "${CHANGED[@]:-}"; do [ "$c" = "$1" ] && return 0; done; return 1; }

# Stops a daemon we started earlier (its config changed), waiting until it is gone.
restart_needed() {
  local name=$1
  lab_alive "$name" || return 0
  log "config of $name changed: restarting it"
  kill -TERM "$(cat "$LAB_PIDS/$name.pid")" 2>/dev/null || true
  for _ in $(seq 100); do lab_alive "$name" || break; sleep 0.1; done
}

# Records the PID a daemon wrote to its own pidfile.
record_pid() {
  local name=$1 pidfile=$2
  for _ in $(seq 100); do
    if [ -s "$pidfile" ]; then
      cp "$pidfile" "$LAB_PIDS/$name.pid"
      lab_alive "$name" && return 0
    fi
    sleep 0.1
  done
  die "$name did not start (no live PID in $pidfile); see its log under /var/log"
}

wait_for() {
  local what=$1 tries=$2
  shift 2
  for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "timed out waiting for $what"
}

users() {
  local u
  for u in alice bob carol; do
    id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"
  done
  # '*' (not '!'): sshd refuses accounts whose password is locked.
  usermod -p '*' alice
  usermod -p '*' carol
  echo "bob:$LAB_BOB_PASSWORD" | chpasswd
  id slurmrestd >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin slurmrestd
}

munge_up() {
  [ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null ||
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge
  lab_alive munged && return 0
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged --force
  record_pid munged /run/munge/munged.pid
}

mariadb_up() {
  write_if_changed /etc/mysql/mariadb.conf.d/99-usine-lab.cnf <<'EOF' && mark_changed mariadbd || true
[mysqld]
bind-address=127.0.0.1
innodb_buffer_pool_size=512M
innodb_log_file_size=64M
innodb_lock_wait_timeout=900
max_allowed_packet=16M
EOF
  is_changed mariadbd && restart_needed mariadbd
  install -d -o mysql -g root /run/mysqld
  install -d -o mysql -g adm /var/log/mysql
  [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql >/dev/null
  if ! lab_alive mariadbd; then
    rm -f /run/mysqld/mysqld.pid
    start-stop-daemon --start --background --make-pidfile --pidfile "$LAB_PIDS/mariadbd.pid" \
      --exec /usr/sbin/mariadbd -- --user=mysql --pid-file=/run/mysqld/mysqld.pid \
      --log-error=/var/log/mysql/error.log
    wait_for "MariaDB" 150 mysqladmin ping
  fi
  # Each cluster's slurm_config grants this user its own database.
  mysql -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmdbpass';"
}

# The lab's two clusters. Every Slurm function below works on the one chosen here:
#   lab    Slurm 22.05 from Debian 12's packages, default ports, /etc/slurm
#   lab24  Slurm 24.11 built from Debian 13's source (slurm-24.11.sh) under its own prefix, with
#          its own ports, state, database and slurmrestd; two GPU types; finished jobs leave
#          slurmctld after 30 s (MinJobAge), so tests see what users of busy sites see.
use_cluster() {
  C=$1
  case $C in
    lab)
      C_SUFFIX='' C_SBIN=/usr/sbin C_BIN=/usr/bin C_ETC=/etc/slurm
      C_CTLD_SPOOL=/var/spool/slurmctld C_D_SPOOL=/var/spool/slurmd C_LOG=/var/log/slurm C_RUN=/run/slurm
      C_CTLD_PORT=6817 C_D_PORT=6818 C_DBD_PORT=6819 C_REST_PORT=$LAB_REST_PORT C_DB=slurm_acct_db
      C_NODE=localhost C_MIN_JOB_AGE=300
      C_NODE_GRES=gpu:h100:4 C_TRES=gres/gpu,gres/gpu:h100,billing
      C_GRES_CONF="NodeName=localhost Name=gpu Type=h100 File=$LAB_STATE/fakegpu/nvidia[0-3]"
      ;;
    lab24)
      C_SUFFIX=24 C_SBIN=$LAB_SLURM2_PREFIX/sbin C_BIN=$LAB_SLURM2_PREFIX/bin C_ETC=$LAB_SLURM2_PREFIX/etc
      C_CTLD_SPOOL=/var/spool/slurm24/ctld C_D_SPOOL=/var/spool/slurm24/d C_LOG=/var/log/slurm24 C_RUN=/run/slurm24
      C_CTLD_PORT=7817 C_D_PORT=7818 C_DBD_PORT=7819 C_REST_PORT=$LAB24_REST_PORT C_DB=slurm24_acct_db
      C_NODE=node24 C_MIN_JOB_AGE=30
      C_NODE_GRES=gpu:h100:2,gpu:a100:2 C_TRES=gres/gpu,gres/gpu:h100,gres/gpu:a100,billing
      C_GRES_CONF="NodeName=node24 Name=gpu Type=h100 File=$LAB_STATE/fakegpu/nvidia[0-1]
NodeName=node24 Name=gpu Type=a100 File=$LAB_STATE/fakegpu/nvidia[2-3]"
      ;;
    *) die "unknown cluster $C" ;;
  esac
}

slurm_config() {
  install -d -o slurm -g slurm "$C_CTLD_SPOOL" "$C_D_SPOOL" "$C_LOG" "$C_RUN"
  install -d -m 0755 "$C_ETC"
  install -d -m 0755 "$LAB_STATE/fakegpu"
  local n
  for n in 0 1 2 3; do
    # Slurm needs a device file per GPU; character devices keep slurmd's log clean, and nothing
    # ever opens them. Regular files work where mknod is not allowed (containers).
    [ -e "$LAB_STATE/fakegpu/nvidia$n" ] || mknod -m 0666 "$LAB_STATE/fakegpu/nvidia$n" c 195 "$n" 2>/dev/null ||
      touch "$LAB_STATE/fakegpu/nvidia$n"
  done
  if [ ! -s "$C_CTLD_SPOOL/jwt_hs256.key" ]; then
    dd if=/dev/urandom of="$C_CTLD_SPOOL/jwt_hs256.key" bs=32 count=1 status=none
  fi
  chown slurm:slurm "$C_CTLD_SPOOL/jwt_hs256.key"
  chmod 0600 "$C_CTLD_SPOOL/jwt_hs256.key"

  # slurmd and srun bind 127.0.0.1 only when the host name resolves to loopback.
  local noinaddr=
  case "$(getent hosts "$(hostname)" | awk '{print $1; exit}')" in
    127.*) noinaddr="CommunicationParameters=NoInAddrAny" ;;
  esac

  write_if_changed "$C_ETC/slurm.conf" <<EOF && mark_changed "slurm$C_SUFFIX" || true
# Usine lab cluster $C: one node, partitions cpu and gpu, four stand-in GPUs. Written by tests/lab/up.sh.
ClusterName=$C
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$C_CTLD_PORT
SlurmdPort=$C_D_PORT
SlurmUser=slurm
AuthType=auth/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$C_CTLD_SPOOL/jwt_hs256.key
CredType=cred/munge
$noinaddr
StateSaveLocation=$C_CTLD_SPOOL
SlurmdSpoolDir=$C_D_SPOOL
SlurmctldPidFile=$C_RUN/slurmctld.pid
SlurmdPidFile=$C_RUN/slurmd.pid
SlurmctldLogFile=$C_LOG/slurmctld.log
SlurmdLogFile=$C_LOG/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=5
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
GresTypes=gpu
PriorityType=priority/multifactor
PriorityDecayHalfLife=0
PriorityUsageResetPeriod=NONE
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$C_DBD_PORT
AccountingStorageTRES=$C_TRES
AccountingStorageEnforce=associations,limits,qos,safe
JobCompType=jobcomp/none
KillWait=5
MinJobAge=$C_MIN_JOB_AGE
# Room for the 10,000-job listing benchmark (the default, 10,000, counts every array task).
MaxJobCount=50000
NodeName=$C_NODE NodeAddr=127.0.0.1 NodeHostname=localhost CPUs=8 Boards=1 SocketsPerBoard=1 CoresPerSocket=8 ThreadsPerCore=1 RealMemory=8000 Gres=$C_NODE_GRES State=UNKNOWN
PartitionName=cpu Nodes=$C_NODE Default=YES DefaultTime=01:00:00 MaxTime=1-00:00:00 State=UP
PartitionName=gpu Nodes=$C_NODE DefaultTime=01:00:00 MaxTime=1-00:00:00 TRESBillingWeights="CPU=1.0,GRES/gpu=10.0" State=UP
EOF
  write_if_changed "$C_ETC/gres.conf" <<EOF && mark_changed "slurm$C_SUFFIX" || true
AutoDetect=off
$C_GRES_CONF
EOF
  write_if_changed "$C_ETC/slurmdbd.conf" <<EOF && mark_changed "slurmdbd$C_SUFFIX" || true
AuthType=auth/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$C_CTLD_SPOOL/jwt_hs256.key
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$C_DBD_PORT
SlurmUser=slurm
PidFile=$C_RUN/slurmdbd.pid
LogFile=$C_LOG/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StoragePort=3306
StorageUser=slurm
StoragePass=slurmdbpass
StorageLoc=$C_DB
EOF
  chown slurm:slurm "$C_ETC/slurmdbd.conf"
  chmod 0600 "$C_ETC/slurmdbd.conf"
  mysql -e "GRANT ALL ON $C_DB.* TO 'slurm'@'localhost';"
}

slurm_up() {
  local d=$C_SUFFIX
  if is_changed "slurmdbd$d"; then restart_needed "slurmdbd$d"; fi
  if is_changed "slurm$d"; then restart_needed "slurmd$d"; restart_needed "slurmctld$d"; fi
  if ! lab_alive "slurmdbd$d"; then
    rm -f "$C_RUN/slurmdbd.pid"
    "$C_SBIN/slurmdbd"
    record_pid "slurmdbd$d" "$C_RUN/slurmdbd.pid"
  fi
  wait_for "slurmdbd of $C" 150 "$C_BIN/sacctmgr" -n show cluster
  "$C_BIN/sacctmgr" -n -P show cluster format=cluster | grep -qx "$C" || "$C_BIN/sacctmgr" -i add cluster "$C" >/dev/null
  if ! lab_alive "slurmctld$d"; then
    rm -f "$C_RUN/slurmctld.pid"
    "$C_SBIN/slurmctld"
    record_pid "slurmctld$d" "$C_RUN/slurmctld.pid"
  fi
  wait_for "slurmctld of $C" 100 "$C_BIN/scontrol" ping
  if ! lab_alive "slurmd$d"; then
    rm -f "$C_RUN/slurmd.pid"
    "$C_SBIN/slurmd" -N "$C_NODE"
    record_pid "slurmd$d" "$C_RUN/slurmd.pid"
  fi
  # A node that drained once (e.g. an earlier bad gres.conf) stays drained until resumed.
  local state
  for _ in $(seq 100); do
    state=$("$C_BIN/sinfo" -h -N -n "$C_NODE" -o %t 2>/dev/null | head -1)
    case "$state" in idle | mix | alloc | drain* | drng) break ;; esac
    sleep 0.2
  done
  case "$state" in
    drain* | drng) "$C_BIN/scontrol" update nodename="$C_NODE" state=resume ;;
  esac
  # Jobs survive a restart (StateSaveLocation): a test run that failed midway may have left a
  # `sleep 300` holding the lab's CPUs or GPUs, and the next run would wait for it. Only jobs
  # Usine sent for the test users (comment `usine:<tag>`) are cancelled: a job someone started
  # by hand on the lab, or for another user, is left alone.
  local ids
  ids=$("$C_BIN/squeue" -h -u alice,bob,carol -o '%i %k' 2>/dev/null | awk '$2 ~ /^usine:/ { print $1 }')
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086 # one id per word
    "$C_BIN/scancel" $ids 2>/dev/null || true
  fi
}

accounts_up() {
  local sacctmgr=$C_BIN/sacctmgr
  # gres/gpu becomes a TRES only once slurmctld has registered with slurmdbd.
  wait_for "the gres/gpu TRES of $C" 150 sh -c "'$sacctmgr' -n -P show tres type=gres format=name | grep -qx gpu"
  "$sacctmgr" -n -P show account format=account | grep -qx "$LAB_ACCOUNT" ||
    "$sacctmgr" -i add account "$LAB_ACCOUNT" Description="AI startup" Organization=startup >/dev/null
  local u
  for u in alice bob carol; do
    "$sacctmgr" -n -P show user "$u" format=user | grep -qx "$u" ||
      "$sacctmgr" -i add user "$u" Account="$LAB_ACCOUNT" DefaultAccount="$LAB_ACCOUNT" >/dev/null
  done
  # 100 GPU-hours and at most four GPUs at once.
  "$sacctmgr" -n -P show assoc account="$LAB_ACCOUNT" user= format=GrpTRESMins,GrpTRES |
    grep -q 'gres/gpu=6000|gres/gpu=4' ||
    "$sacctmgr" -i modify account "$LAB_ACCOUNT" set GrpTRESMins=gres/gpu=6000 GrpTRES=gres/gpu=4 >/dev/null
  # A project that is nearly spent (1 GPU-hour), for "no GPU-hours left" tests. alice only.
  "$sacctmgr" -n -P show account format=account | grep -qx "$LAB_SPENT_ACCOUNT" ||
    "$sacctmgr" -i add account "$LAB_SPENT_ACCOUNT" Description="Nearly spent" Organization=startup >/dev/null
  "$sacctmgr" -n -P show assoc account="$LAB_SPENT_ACCOUNT" user=alice format=user | grep -qx alice ||
    "$sacctmgr" -i add user alice Account="$LAB_SPENT_ACCOUNT" >/dev/null
  "$sacctmgr" -n -P show assoc account="$LAB_SPENT_ACCOUNT" user= format=GrpTRESMins | grep -qx 'gres/gpu=60' ||
    "$sacctmgr" -i modify account "$LAB_SPENT_ACCOUNT" set GrpTRESMins=gres/gpu=60 >/dev/null
}

rest_up() {
  local d=$C_SUFFIX
  if is_changed "slurm$d" || is_changed "slurmdbd$d"; then restart_needed "slurmrestd$d"; fi
  if ! lab_alive "slurmrestd$d"; then
    # slurmrestd stays in the foreground; start-stop-daemon records its real PID.
    # SLURM_JWT=daemon is how slurmrestd learns to accept JWTs (its man page).
    SLURM_JWT=daemon start-stop-daemon --start --background --make-pidfile --pidfile "$LAB_PIDS/slurmrestd$d.pid" \
      --output "$C_LOG/slurmrestd.log" --exec "$C_SBIN/slurmrestd" -- \
      -a rest_auth/jwt -u slurmrestd -g slurmrestd "127.0.0.1:$C_REST_PORT"
  fi
  # No token: 401 once it listens (v0.0.40 is the oldest version both Slurms serve).
  wait_for "slurmrestd of $C" 100 sh -c "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$C_REST_PORT/slurm/v0.0.40/ping | grep -q 401"
  [ "$C" = lab24 ] || return 0
  # A second one without slurmdbd's endpoints: finished jobs must then come from sacct over SSH.
  if is_changed slurm24 || is_changed slurmdbd24; then restart_needed slurmrestd24ctld; fi
  if ! lab_alive slurmrestd24ctld; then
    SLURM_JWT=daemon start-stop-daemon --start --background --make-pidfile --pidfile "$LAB_PIDS/slurmrestd24ctld.pid" \
      --output "$C_LOG/slurmrestd-ctld.log" --exec "$C_SBIN/slurmrestd" -- \
      -a rest_auth/jwt -s openapi/slurmctld -u slurmrestd -g slurmrestd "127.0.0.1:$LAB24_REST_CTLD_PORT"
  fi
  wait_for "slurmrestd (slurmctld only) of $C" 100 sh -c "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$LAB24_REST_CTLD_PORT/slurm/v0.0.40/ping | grep -q 401"
}

# Brings up one cluster: its Slurm daemons, accounts and slurmrestd.
cluster_up() {
  use_cluster "$1"
  slurm_config
  slurm_up
  accounts_up
  rest_up
  log "cluster $C: $("$C_BIN/sinfo" --version)"
}

ssh_material() {
  local ca=$LAB_STATE/ca
  install -d -m 0700 "$ca" "$LAB_STATE/hostkeys"
  install -d -m 0755 "$LAB_CLIENT"
  ssh-keygen -A >/dev/null
  [ -s "$LAB_STATE/hostkeys/jump_ed25519" ] ||
    ssh-keygen -q -t ed25519 -N '' -C usine-lab-jump -f "$LAB_STATE/hostkeys/jump_ed25519"
  [ -s "$ca/user_ca" ] || ssh-keygen -q -t ed25519 -N '' -C usine-lab-user-ca -f "$ca/user_ca"
  # The federation's CA (the sshca stand-in) signs with its own key: its certificates must
  # also carry a domain grant for the login node (AuthorizedPrincipalsCommand, `principals`).
  [ -s "$ca/efp_ca" ] || ssh-keygen -q -t ed25519 -N '' -C usine-lab-efp-ca -f "$ca/efp_ca"
  cat "$ca/user_ca.pub" "$ca/efp_ca.pub" >/etc/ssh/usine_lab_user_ca.pub
  install -m 0644 "$ca/efp_ca.pub" /etc/ssh/usine_lab_efp_ca.pub
  install -m 0755 "$HERE/principals" /usr/local/sbin/usine-lab-principals

  # Client keys are lab-only test material, never real secrets.
  local k
  for k in alice_ed25519 carol_ed25519 carol_expired_ed25519; do
    [ -s "$LAB_CLIENT/$k" ] || ssh-keygen -q -t ed25519 -N '' -C "$k@usine-lab" -f "$LAB_CLIENT/$k"
    chmod 0600 "$LAB_CLIENT/$k"
  done
  # A second key for alice, encrypted: tests open it with a passphrase from the keychain.
  [ -s "$LAB_CLIENT/alice_encrypted_ed25519" ] ||
    ssh-keygen -q -t ed25519 -N "$LAB_KEY_PASSPHRASE" -C alice-encrypted@usine-lab -f "$LAB_CLIENT/alice_encrypted_ed25519"
  # The other key types sites accept: RSA (signed with SHA-2) and ECDSA.
  [ -s "$LAB_CLIENT/alice_rsa" ] || ssh-keygen -q -t rsa -b 3072 -N '' -C alice-rsa@usine-lab -f "$LAB_CLIENT/alice_rsa"
  [ -s "$LAB_CLIENT/alice_ecdsa" ] || ssh-keygen -q -t ecdsa -b 256 -N '' -C alice-ecdsa@usine-lab -f "$LAB_CLIENT/alice_ecdsa"
  install -d -o alice -g alice -m 0700 ~alice/.ssh
  cat "$LAB_CLIENT/alice_ed25519.pub" "$LAB_CLIENT/alice_encrypted_ed25519.pub" \
    "$LAB_CLIENT/alice_rsa.pub" "$LAB_CLIENT/alice_ecdsa.pub" >~alice/.ssh/authorized_keys
  chown alice:alice ~alice/.ssh/authorized_keys
  chmod 0600 ~alice/.ssh/authorized_keys

  # carol has no authorized_keys: only a certificate signed by the lab CA lets her in.
  if [ ! -s "$LAB_CLIENT/carol_ed25519-cert.pub" ] ||
    ! ssh-keygen -L -f "$LAB_CLIENT/carol_ed25519-cert.pub" | grep -q "Valid: from"; then
    ssh-keygen -q -s "$ca/user_ca" -I carol-valid -n carol -V -5m:+3650d "$LAB_CLIENT/carol_ed25519.pub"
  fi
  [ -s "$LAB_CLIENT/carol_expired_ed25519-cert.pub" ] ||
    ssh-keygen -q -s "$ca/user_ca" -I carol-expired -n carol -V 20200101:20200102 \
      "$LAB_CLIENT/carol_expired_ed25519.pub"

  # bob: password, then a TOTP code. No DISALLOW_REUSE, so tests may use one code twice.
  printf '%s\n" TOTP_AUTH\n" WINDOW_SIZE 3\n' "$LAB_TOTP_SECRET" >~bob/.google_authenticator
  chown bob:bob ~bob/.google_authenticator
  chmod 0400 ~bob/.google_authenticator

  {
    printf '[127.0.0.1]:%s %s\n' "$LAB_SSH_PORT" "$(cut -d' ' -f1-2 /etc/ssh/ssh_host_ed25519_key.pub)"
    printf '[127.0.0.1]:%s %s\n' "$LAB_JUMP_PORT" "$(cut -d' ' -f1-2 "$LAB_STATE/hostkeys/jump_ed25519.pub")"
    printf '[127.0.0.1]:%s %s\n' "$LAB24_SSH_PORT" "$(cut -d' ' -f1-2 /etc/ssh/ssh_host_ed25519_key.pub)"
    printf '[127.0.0.1]:%s %s\n' "$LAB_NOFWD_PORT" "$(cut -d' ' -f1-2 /etc/ssh/ssh_host_ed25519_key.pub)"
  } >"$LAB_CLIENT/known_hosts"

  # What a user's ~/.ssh/config for the lab looks like; tests use it for ProxyJump (OpenSSH
  # applies command-line options to the destination only, not to jump hosts).
  cat >"$LAB_CLIENT/ssh_config" <<CONFIG
Host lab-*
    HostName 127.0.0.1
    UserKnownHostsFile $LAB_CLIENT/known_hosts
    StrictHostKeyChecking yes
    IdentitiesOnly yes
    IdentityAgent none
Host lab-jump
    Port $LAB_JUMP_PORT
    User alice
    IdentityFile $LAB_CLIENT/alice_ed25519
Host lab-alice
    Port $LAB_SSH_PORT
    User alice
    IdentityFile $LAB_CLIENT/alice_ed25519
Host lab-alice-via-jump
    Port $LAB_SSH_PORT
    User alice
    IdentityFile $LAB_CLIENT/alice_ed25519
    ProxyJump lab-jump
Host lab-bob
    Port $LAB_SSH_PORT
    User bob
    PreferredAuthentications keyboard-interactive
Host lab-carol
    Port $LAB_SSH_PORT
    User carol
    IdentityFile $LAB_CLIENT/carol_ed25519
    CertificateFile $LAB_CLIENT/carol_ed25519-cert.pub
Host lab24-alice
    Port $LAB24_SSH_PORT
    User alice
    IdentityFile $LAB_CLIENT/alice_ed25519
CONFIG
}

sshd_up() {
  install -d -m 0755 /run/sshd
  # OpenSSH takes its PAM service name from argv[0]: this name gives the lab its own PAM stack
  # and leaves the system's sshd untouched.
  ln -sfn /usr/sbin/sshd /usr/local/sbin/sshd-lab
  ln -sfn /usr/sbin/sshd /usr/local/sbin/sshd-lab-jump
  write_if_changed /etc/pam.d/sshd-lab <<'EOF' || true
auth     required   pam_unix.so
auth     required   pam_google_authenticator.so
account  required   pam_unix.so
session  required   pam_unix.so
EOF
  write_if_changed /etc/ssh/sshd_usine_lab_config <<EOF && mark_changed sshd-lab || true
# Usine lab login node. Written by tests/lab/up.sh.
Port $LAB_SSH_PORT
ListenAddress 127.0.0.1
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_ecdsa_key
HostKey /etc/ssh/ssh_host_rsa_key
PidFile /run/sshd-usine-lab.pid
UsePAM yes
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication yes
AuthenticationMethods publickey
TrustedUserCAKeys /etc/ssh/usine_lab_user_ca.pub
AuthorizedPrincipalsCommand /usr/local/sbin/usine-lab-principals lab %u %K %k
AuthorizedPrincipalsCommandUser nobody
Subsystem sftp internal-sftp
LogLevel VERBOSE
Match User bob
    AuthenticationMethods keyboard-interactive
    # bob's sessions, and so his jobs, find the stand-in GPU tool as on a GPU site's login
    # node; it stays off the machine's own PATH so that "this computer" has no GPU.
    SetEnv PATH=/opt/usine-lab/bin:/usr/local/bin:/usr/bin:/bin
EOF
  write_if_changed /etc/ssh/sshd_usine_lab_jump_config <<EOF && mark_changed sshd-jump || true
# Usine lab bastion: key login, forwarding to the login node only, no shell.
Port $LAB_JUMP_PORT
ListenAddress 127.0.0.1
HostKey $LAB_STATE/hostkeys/jump_ed25519
PidFile /run/sshd-usine-lab-jump.pid
UsePAM no
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthenticationMethods publickey
AllowTcpForwarding yes
PermitOpen 127.0.0.1:$LAB_SSH_PORT localhost:$LAB_SSH_PORT
PermitTTY no
ForceCommand /bin/false
LogLevel VERBOSE
EOF
  # The login node of the 24.11 cluster: the same users and methods, and that Slurm's commands
  # first on every user's PATH, as on a site whose login nodes load its Slurm. sshd takes the
  # first SetEnv that matches, so bob's own block (before "Match all") keeps his GPU tool.
  ln -sfn /usr/sbin/sshd /usr/local/sbin/sshd-lab24
  ln -sfn /etc/pam.d/sshd-lab /etc/pam.d/sshd-lab24
  sed -e "s|^Port .*|Port $LAB24_SSH_PORT|" -e 's|^PidFile .*|PidFile /run/sshd-usine-lab24.pid|' \
    -e 's|^# Usine lab login node.*|# Usine lab login node of cluster lab24 (Slurm 24.11). Written by tests/lab/up.sh.|' \
    -e "s|SetEnv PATH=|SetEnv PATH=$LAB_SLURM2_PREFIX/bin:|" -e 's|principals lab %u|principals lab24 %u|' \
    /etc/ssh/sshd_usine_lab_config |
    { cat; printf 'Match all\n    SetEnv PATH=%s/bin:/usr/local/bin:/usr/bin:/bin\n' "$LAB_SLURM2_PREFIX"; } |
    write_if_changed /etc/ssh/sshd_usine_lab24_config && mark_changed sshd-lab24 || true
  # A login node of "lab" that does not forward TCP: sessions go through the job instead.
  ln -sfn /usr/sbin/sshd /usr/local/sbin/sshd-lab-nofwd
  ln -sfn /etc/pam.d/sshd-lab /etc/pam.d/sshd-lab-nofwd
  sed -e "s|^Port .*|Port $LAB_NOFWD_PORT|" -e 's|^PidFile .*|PidFile /run/sshd-usine-lab-nofwd.pid|' \
    -e 's|^# Usine lab login node.*|# Usine lab login node of cluster lab without TCP forwarding. Written by tests/lab/up.sh.|' \
    -e 's|^LogLevel VERBOSE|AllowTcpForwarding no\nLogLevel VERBOSE|' \
    /etc/ssh/sshd_usine_lab_config | write_if_changed /etc/ssh/sshd_usine_lab_nofwd_config && mark_changed sshd-nofwd || true
  /usr/sbin/sshd -t -f /etc/ssh/sshd_usine_lab_nofwd_config
  /usr/sbin/sshd -t -f /etc/ssh/sshd_usine_lab_config
  /usr/sbin/sshd -t -f /etc/ssh/sshd_usine_lab24_config
  /usr/sbin/sshd -t -f /etc/ssh/sshd_usine_lab_jump_config
  if is_changed sshd-lab; then restart_needed sshd-lab; fi
  if is_changed sshd-jump; then restart_needed sshd-jump; fi
  if ! lab_alive sshd-lab; then
    rm -f /run/sshd-usine-lab.pid
    /usr/local/sbin/sshd-lab -f /etc/ssh/sshd_usine_lab_config -E /var/log/sshd-usine-lab.log
    record_pid sshd-lab /run/sshd-usine-lab.pid
  fi
  if is_changed sshd-lab24; then restart_needed sshd-lab24; fi
  if ! lab_alive sshd-lab24; then
    rm -f /run/sshd-usine-lab24.pid
    /usr/local/sbin/sshd-lab24 -f /etc/ssh/sshd_usine_lab24_config -E /var/log/sshd-usine-lab24.log
    record_pid sshd-lab24 /run/sshd-usine-lab24.pid
  fi
  if is_changed sshd-nofwd; then restart_needed sshd-nofwd; fi
  if ! lab_alive sshd-nofwd; then
    rm -f /run/sshd-usine-lab-nofwd.pid
    /usr/local/sbin/sshd-lab-nofwd -f /etc/ssh/sshd_usine_lab_nofwd_config -E /var/log/sshd-usine-lab-nofwd.log
    record_pid sshd-nofwd /run/sshd-usine-lab-nofwd.pid
  fi
  if ! lab_alive sshd-jump; then
    rm -f /run/sshd-usine-lab-jump.pid
    /usr/local/sbin/sshd-lab-jump -f /etc/ssh/sshd_usine_lab_jump_config -E /var/log/sshd-usine-lab-jump.log
    record_pid sshd-jump /run/sshd-usine-lab-jump.pid
  fi
}

# A tiny file system, so that tests can fill a destination without filling the machine.
small_disk() {
  install -d -m 0777 "$LAB_STATE/small"
  mountpoint -q "$LAB_STATE/small" || mount -t tmpfs -o size=2m,mode=0777 usine-lab-small "$LAB_STATE/small"
}

# Lustre cannot run here: a folder stands for a Lustre mount, and a stand-in `lfs` on the
# default PATH answers for that folder only, in the real tool's format (alice: 2 MiB quota).
lustre_standin() {
  install -d -m 0777 "$LAB_STATE/lustre"
  printf 'usr alice 0 2048\n' > "$LAB_STATE/lustre/.limits"
  sed "s|^MOUNT=.*|MOUNT=$LAB_STATE/lustre|" "$HERE/lfs" > /usr/local/bin/lfs.new
  chmod 0755 /usr/local/bin/lfs.new && mv /usr/local/bin/lfs.new /usr/local/bin/lfs
}

gpu_standin() {
  install -D -m 0755 "$HERE/nvidia-smi" "$LAB_BIN/nvidia-smi"
}

# Browser login: the identity provider and the CA stand-ins (idp/), on Node, restarted when
# their code changes. The step-ca stand-in speaks HTTPS under a lab root trusted by fingerprint.
identity_up() {
  local ca=$LAB_STATE/ca idp=$HERE/idp
  if [ ! -s "$ca/stepca_tls.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
      -keyout "$ca/stepca_root.key" -out "$ca/stepca_root.pem" -subj "/CN=Usine lab step-ca root" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
      -keyout "$ca/stepca_tls.key" -out "$ca/stepca_tls.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$ca/stepca_tls.ext"
    openssl x509 -req -in "$ca/stepca_tls.csr" -CA "$ca/stepca_root.pem" -CAkey "$ca/stepca_root.key" \
      -CAcreateserial -days 3650 -extfile "$ca/stepca_tls.ext" -out "$ca/stepca_tls.pem" 2>/dev/null
  fi
  STEPCA_FINGERPRINT=$(openssl x509 -in "$ca/stepca_root.pem" -outform DER | sha256sum | cut -d' ' -f1)
  if [ ! -f "$idp/node_modules/.package-lock.json" ] || ! cmp -s "$idp/package-lock.json" "$idp/node_modules/.usine-lock"; then
    (cd "$idp" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$idp/package-lock.json" "$idp/node_modules/.usine-lock"
  fi
  export LAB_IDP_PORT LAB_IDP_PASSWORD LAB_IDP_CA_SECRET LAB_STEPCA_PORT LAB_STEPCA_LISTEN_PORT \
    LAB_SSHCA_PORT LAB_SIGNER_PORT LAB_CERT_SECONDS
  export LAB_USER_CA_KEY=$ca/user_ca LAB_EFP_CA_KEY=$ca/efp_ca LAB_STEPCA_ROOT=$ca/stepca_root.pem \
    LAB_STEPCA_TLS_CERT=$ca/stepca_tls.pem LAB_STEPCA_TLS_KEY=$ca/stepca_tls.key
  local name version
  for name in idp ca; do
    version=$(cat "$idp/$name.mjs" "$idp/package-lock.json" | sha256sum | cut -d' ' -f1)
    if lab_alive "$name" && [ "$(cat "$LAB_STATE/$name.version" 2>/dev/null)" != "$version" ]; then
      restart_needed "$name"
    fi
    if ! lab_alive "$name"; then
      start-stop-daemon --start --background --make-pidfile --pidfile "$LAB_PIDS/$name.pid" \
        --chdir "$idp" --output "$LAB_STATE/$name.log" --exec /usr/bin/node -- "$idp/$name.mjs"
      echo "$version" >"$LAB_STATE/$name.version"
    fi
    [ "$name" = ca ] || wait_for "the lab identity provider" 100 \
      curl -sf -o /dev/null "http://127.0.0.1:$LAB_IDP_PORT/.well-known/openid-configuration"
  done
  wait_for "the lab step-ca" 100 curl -sf -o /dev/null --cacert "$ca/stepca_root.pem" \
    "https://127.0.0.1:$LAB_STEPCA_PORT/health"
}

# JupyterLab and TensorBoard for the lab's session jobs, as a site's module would provide them;
# lab24's node name resolves on the login node, as compute nodes' names do at a site.
sessions_up() {
  if [ "$(cat "$LAB_JUPYTER/.usine-packages" 2>/dev/null)" != "$LAB_JUPYTER_PACKAGES" ]; then
    log "installing $LAB_JUPYTER_PACKAGES into $LAB_JUPYTER"
    rm -rf "$LAB_JUPYTER.new"
    /usr/bin/python3 -m venv "$LAB_JUPYTER.new"
    # shellcheck disable=SC2086
    "$LAB_JUPYTER.new/bin/pip" install -q --disable-pip-version-check $LAB_JUPYTER_PACKAGES
    # A venv's scripts name its folder: build aside, then fix them up for the final place.
    grep -rlF "$LAB_JUPYTER.new" "$LAB_JUPYTER.new/bin" | xargs -r sed -i "s|$LAB_JUPYTER.new|$LAB_JUPYTER|g"
    echo "$LAB_JUPYTER_PACKAGES" >"$LAB_JUPYTER.new/.usine-packages"
    rm -rf "$LAB_JUPYTER" && mv "$LAB_JUPYTER.new" "$LAB_JUPYTER"
  fi
  grep -qE '^127\.0\.0\.1[[:space:]]+node24$' /etc/hosts || echo '127.0.0.1 node24' >>/etc/hosts
}

write_env() {
  write_if_changed "$LAB_ENV_FILE" <<EOF || true
# Written by tests/lab/up.sh: what tests need to reach the lab. Lab-only, throwaway credentials.
USINE_LAB_HOST=127.0.0.1
USINE_LAB_SSH_PORT=$LAB_SSH_PORT
USINE_LAB_JUMP_PORT=$LAB_JUMP_PORT
USINE_LAB_KNOWN_HOSTS=$LAB_CLIENT/known_hosts
USINE_LAB_SSH_CONFIG=$LAB_CLIENT/ssh_config
USINE_LAB_KEY_USER=alice
USINE_LAB_KEY=$LAB_CLIENT/alice_ed25519
USINE_LAB_ENCRYPTED_KEY=$LAB_CLIENT/alice_encrypted_ed25519
USINE_LAB_RSA_KEY=$LAB_CLIENT/alice_rsa
USINE_LAB_ECDSA_KEY=$LAB_CLIENT/alice_ecdsa
USINE_LAB_KEY_PASSPHRASE=$LAB_KEY_PASSPHRASE
USINE_LAB_OTP_USER=bob
USINE_LAB_OTP_PASSWORD=$LAB_BOB_PASSWORD
USINE_LAB_TOTP_SECRET=$LAB_TOTP_SECRET
USINE_LAB_CERT_USER=carol
USINE_LAB_CERT_KEY=$LAB_CLIENT/carol_ed25519
USINE_LAB_CERT=$LAB_CLIENT/carol_ed25519-cert.pub
USINE_LAB_EXPIRED_CERT_KEY=$LAB_CLIENT/carol_expired_ed25519
USINE_LAB_EXPIRED_CERT=$LAB_CLIENT/carol_expired_ed25519-cert.pub
USINE_LAB_REST_URL=http://127.0.0.1:$LAB_REST_PORT
USINE_LAB_ACCOUNT=$LAB_ACCOUNT
USINE_LAB_SPENT_ACCOUNT=$LAB_SPENT_ACCOUNT
USINE_LAB_NVIDIA_SMI=$LAB_BIN/nvidia-smi
USINE_LAB_SMALL_DISK=$LAB_STATE/small
USINE_LAB_LUSTRE=$LAB_STATE/lustre
USINE_LAB_SLURM_BIN=/usr/bin
USINE_LAB24_SLURM_BIN=$LAB_SLURM2_PREFIX/bin
USINE_LAB24_SSH_PORT=$LAB24_SSH_PORT
USINE_LAB24_REST_URL=http://127.0.0.1:$LAB24_REST_PORT
USINE_LAB24_REST_CTLD_ONLY_URL=http://127.0.0.1:$LAB24_REST_CTLD_PORT
USINE_LAB_IDP_URL=http://127.0.0.1:$LAB_IDP_PORT
USINE_LAB_IDP_USER=alice
USINE_LAB_IDP_PASSWORD=$LAB_IDP_PASSWORD
USINE_LAB_IDP_CLIENT=usine
USINE_LAB_BROWSER=$HERE/idp/browser.mjs
USINE_LAB_STEPCA_URL=https://127.0.0.1:$LAB_STEPCA_PORT
USINE_LAB_STEPCA_FINGERPRINT=$STEPCA_FINGERPRINT
USINE_LAB_STEPCA_LISTEN_PORT=$LAB_STEPCA_LISTEN_PORT
USINE_LAB_SSHCA_URL=http://127.0.0.1:$LAB_SSHCA_PORT/lab-efp
USINE_LAB_SIGNER_URL=http://127.0.0.1:$LAB_SIGNER_PORT/api/v1/ssh-keys/sign
USINE_LAB_CERT_SECONDS=$LAB_CERT_SECONDS
USINE_LAB_NOFWD_PORT=$LAB_NOFWD_PORT
USINE_LAB_JUPYTER=$LAB_JUPYTER
EOF
}

install_packages
t_apt=$(date +%s.%N)
install -d -m 0755 "$LAB_STATE"
install -d -m 0700 "$LAB_PIDS"
users
munge_up
mariadb_up
cluster_up lab
"$HERE/slurm-24.11.sh"
cluster_up lab24
ssh_material
sshd_up
small_disk
lustre_standin
gpu_standin
identity_up
sessions_up
write_env
t1=$(date +%s.%N)
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
log "lab is up: apt $(secs "$t0" "$t_apt") s, start $(secs "$t_apt" "$t1") s"
log "ssh -p $LAB_SSH_PORT -i $LAB_CLIENT/alice_ed25519 -o UserKnownHostsFile=$LAB_CLIENT/known_hosts alice@127.0.0.1"
log "test settings: $LAB_ENV_FILE"
