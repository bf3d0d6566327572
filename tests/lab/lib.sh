# Shared settings of the Usine lab scripts (sourced, not run).
# shellcheck shell=bash

LAB_STATE=${USINE_LAB_STATE:-/var/lib/usine-lab}
LAB_PIDS=$LAB_STATE/pids
LAB_CLIENT=$LAB_STATE/client
LAB_ENV_FILE=$LAB_CLIENT/lab.env
LAB_BIN=/opt/usine-lab/bin
LAB_SSH_PORT=2222
LAB_JUMP_PORT=2200
LAB_REST_PORT=6820
LAB_ACCOUNT=ai-startup
LAB_SPENT_ACCOUNT=nearly-spent
LAB_TOTP_SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
LAB_BOB_PASSWORD=bobpass
LAB_KEY_PASSPHRASE="lab passphrase"
# The second cluster, "lab24", on Slurm 24.11 built from Debian's source (slurm-24.11.sh): its own
# ports, state, database, slurmrestd and login sshd, next to the 22.05 cluster "lab".
LAB_SLURM2_PREFIX=/opt/slurm-24.11
LAB24_SSH_PORT=2224
LAB24_REST_PORT=7820
# lab24's second slurmrestd, serving slurmctld's endpoints only, as some sites run it.
LAB24_REST_CTLD_PORT=7821
# Browser login: the identity provider (oidc-provider) and the certificate authority stand-ins
# (idp/). Lab-only throwaway secrets.
LAB_IDP_PORT=9480
LAB_IDP_PASSWORD="alice idp password"
LAB_IDP_CA_SECRET=lab-ca-introspection-secret
LAB_STEPCA_PORT=9443
LAB_STEPCA_LISTEN_PORT=9490
LAB_SSHCA_PORT=9481
LAB_SIGNER_PORT=9482
LAB_CERT_SECONDS=60
# Interactive sessions: a login node of "lab" that does not forward TCP (sites that turn
# AllowTcpForwarding off), and JupyterLab + TensorBoard from PyPI in a venv that jobs use as a
# site's module would be (cached: rebuilt only when the pinned versions change).
LAB_NOFWD_PORT=2226
LAB_JUPYTER=/opt/usine-lab/jupyter
LAB_JUPYTER_PACKAGES="jupyterlab==4.6.6 tensorboard==2.21.0"

# name -> the executable that a recorded PID must belong to, so that a reused PID is never killed.
declare -A LAB_EXE=(
  [munged]=/usr/sbin/munged
  [mariadbd]=/usr/sbin/mariadbd
  [slurmdbd]=/usr/sbin/slurmdbd
  [slurmctld]=/usr/sbin/slurmctld
  [slurmd]=/usr/sbin/slurmd
  [slurmrestd]=/usr/sbin/slurmrestd
  [sshd-lab]=/usr/sbin/sshd
  [sshd-jump]=/usr/sbin/sshd
  [slurmdbd24]=$LAB_SLURM2_PREFIX/sbin/slurmdbd
  [slurmctld24]=$LAB_SLURM2_PREFIX/sbin/slurmctld
  [slurmd24]=$LAB_SLURM2_PREFIX/sbin/slurmd
  [slurmrestd24]=$LAB_SLURM2_PREFIX/sbin/slurmrestd
  [slurmrestd24ctld]=$LAB_SLURM2_PREFIX/sbin/slurmrestd
  [sshd-lab24]=/usr/sbin/sshd
  [sshd-nofwd]=/usr/sbin/sshd
  [idp]=/usr/bin/node
  [ca]=/usr/bin/node
)
# Stop order: the reverse of the start order.
LAB_DAEMONS=(ca idp sshd-nofwd sshd-lab24 slurmrestd24ctld slurmrestd24 slurmd24 slurmctld24 slurmdbd24
  sshd-jump sshd-lab slurmrestd slurmd slurmctld slurmdbd mariadbd munged)

log() { printf '[lab %s] %s\n' "$(date +%T)" "$*"; }
die() { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }

# True when the PID recorded for $1 is alive and runs the expected executable.
# A zombie counts as stopped: PID 1 here reaps late.
lab_alive() {
  local name=$1 pid
  [ -s "$LAB_PIDS/$name.pid" ] || return 1
  pid=$(cat "$LAB_PIDS/$name.pid")
  [ -d "/proc/$pid" ] || return 1
  [ "$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" != Z ] || return 1
  [ "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "${LAB_EXE[$name]}")" ]
}
