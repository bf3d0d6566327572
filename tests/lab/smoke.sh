#!/usr/bin/env bash
# Exercises every lab component the way Usine's tests will use it, and fails loudly when one is
# missing. Prints one line per check and a summary; exits 1 if any check failed.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

[ -s "$LAB_ENV_FILE" ] || die "no $LAB_ENV_FILE: run tests/lab/up.sh first"
set -a
# shellcheck disable=SC1090
. "$LAB_ENV_FILE"
set +a

pass=0
fail=0
failed=()
check() {
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then
    pass=$((pass + 1))
    printf '  ok    %s\n' "$what"
  else
    fail=$((fail + 1))
    failed+=("$what")
    printf '  FAIL  %s\n' "$what"
    printf '%s\n' "$out" | tail -5 | sed 's/^/        | /'
  fi
}
# The check passes when the command fails (a refusal we expect).
refused() { ! "$@"; }

SSH_OPTS=(-o BatchMode=yes -o UserKnownHostsFile="$USINE_LAB_KNOWN_HOSTS" -o StrictHostKeyChecking=yes
  -o IdentitiesOnly=yes -o IdentityAgent=none -o ConnectTimeout=10 -p "$USINE_LAB_SSH_PORT")
as_alice() { ssh "${SSH_OPTS[@]}" -i "$USINE_LAB_KEY" "alice@$USINE_LAB_HOST" "$@"; }
as_carol() { ssh "${SSH_OPTS[@]}" -i "$1" -o CertificateFile="$2" "carol@$USINE_LAB_HOST" "${@:3}"; }

# bob answers "Password:" and "Verification code:" through SSH_ASKPASS, like a person would.
ASKPASS_DIR=$(mktemp -d)
trap 'rm -rf "$ASKPASS_DIR"' EXIT
as_bob() {
  local code=$1
  shift
  cat >"$ASKPASS_DIR/askpass" <<EOF
#!/bin/sh
case "\$1" in
  *assword*) echo '$USINE_LAB_OTP_PASSWORD' ;;
  *erification*) echo '$code' ;;
  *) exit 1 ;;
esac
EOF
  chmod 0700 "$ASKPASS_DIR/askpass"
  SSH_ASKPASS="$ASKPASS_DIR/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 setsid -w \
    ssh -o UserKnownHostsFile="$USINE_LAB_KNOWN_HOSTS" -o StrictHostKeyChecking=yes \
    -o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=1 \
    -o ConnectTimeout=10 -p "$USINE_LAB_SSH_PORT" "bob@$USINE_LAB_HOST" "$@" </dev/null
}

# wait_job_state ID STATE [LOGIN]: LOGIN runs alice's commands (as_alice, or as_alice24).
wait_job_state() {
  local id=$1 want=$2 login=${3:-as_alice} state
  for _ in $(seq 150); do
    state=$("$login" "sacct -n -X -P -j $id --format=State" | head -1)
    [ "$state" = "$want" ] && return 0
    sleep 0.2
  done
  echo "job $id is '$state', expected $want"
  return 1
}

echo "Usine lab smoke check"

echo "- Slurm"
check "munge authenticates" sh -c 'munge -n | unmunge | grep -q "STATUS:.*Success"'
check "MariaDB answers" mysqladmin ping
check "slurmdbd knows cluster 'lab'" sh -c 'sacctmgr -n -P show cluster format=cluster | grep -qx lab'
check "slurmctld is up" sh -c 'scontrol ping | grep -q UP'
check "node is usable (idle/mixed)" sh -c 'sinfo -h -N -n localhost -o %t | grep -Eqx "idle|mix|alloc"'
check "partitions cpu and gpu exist" sh -c 'test "$(sinfo -h -o %R | sort | tr "\n" " ")" = "cpu gpu "'
check "node has 4 GRES GPUs" sh -c 'scontrol show node localhost | grep -q "Gres=gpu:h100:4"'
gpu_hour_limit() { sacctmgr -n -P show assoc account="$USINE_LAB_ACCOUNT" user= format=GrpTRESMins | grep -qx gres/gpu=6000; }
check "account $USINE_LAB_ACCOUNT has a 100 GPU-hour limit" gpu_hour_limit
spent_limit() { sacctmgr -n -P show assoc account="$USINE_LAB_SPENT_ACCOUNT" user=alice format=User,GrpTRESMins | grep -qx 'alice|'; sacctmgr -n -P show assoc account="$USINE_LAB_SPENT_ACCOUNT" user= format=GrpTRESMins | grep -qx gres/gpu=60; }
check "account $USINE_LAB_SPENT_ACCOUNT (alice) has 1 GPU-hour" spent_limit

alice_is_alice() { test "$(as_alice id -un)" = alice; }
bob_is_bob() { test "$(as_bob "$1" id -un)" = bob; }
carol_is_carol() { test "$(as_carol "$USINE_LAB_CERT_KEY" "$USINE_LAB_CERT" id -un)" = carol; }
jump_reaches_login() {
  test "$(ssh -F "$USINE_LAB_SSH_CONFIG" -o BatchMode=yes lab-alice-via-jump hostname)" = "$(hostname)"
}
# The bastion accepts alice's key but runs /bin/false instead of her command: exit status 1,
# where a refused or failed connection would be 255.
bastion_gives_no_shell() {
  local rc=0
  ssh -F "$USINE_LAB_SSH_CONFIG" -o BatchMode=yes lab-jump id || rc=$?
  test "$rc" = 1
}
sftp_round_trip() {
  printf 'put %s smoke-sftp\nget smoke-sftp %s\nrm smoke-sftp\n' "$USINE_LAB_KNOWN_HOSTS" "$ASKPASS_DIR/back" |
    sftp -q -b - -F "$USINE_LAB_SSH_CONFIG" -o BatchMode=yes lab-alice &&
    cmp "$USINE_LAB_KNOWN_HOSTS" "$ASKPASS_DIR/back"
}
job_saw_two_gpus() {
  local out
  out=$(as_alice "cat /tmp/smoke-$1.out")
  echo "$out"
  echo "$out" | grep -qx 'CVD=0,1' && test "$(echo "$out" | grep -Ec '^[01], [0-9]+, [0-9]+$')" = 2
}
sacct_json_has_two_gpus() {
  as_alice "sacct --json -j $1" |
    jq -e '.jobs[0].tres.allocated[] | select(.type=="gres" and .name=="gpu") | .count == 2'
}
squeue_json_answers() { as_alice squeue --json | jq -e '.jobs | type == "array"'; }
srun_overlap_runs() { wait_job_state "$1" RUNNING && as_alice "srun --jobid=$1 --overlap -t 1 hostname"; }

echo "- SSH login node (127.0.0.1:$USINE_LAB_SSH_PORT)"
check "alice logs in with her key" alice_is_alice
check "alice without her key is refused" refused ssh "${SSH_OPTS[@]}" -o PubkeyAuthentication=no "alice@$USINE_LAB_HOST" true
check "a wrong host key is refused" refused ssh -o BatchMode=yes -o UserKnownHostsFile=/dev/null \
  -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -i "$USINE_LAB_KEY" -p "$USINE_LAB_SSH_PORT" "alice@$USINE_LAB_HOST" true
code=$(oathtool --totp -b "$USINE_LAB_TOTP_SECRET")
check "bob logs in with password + one-time code" bob_is_bob "$code"
bad=$(printf '%06d' $(((10#$code + 500000) % 1000000)))
check "bob with a wrong one-time code is refused" refused as_bob "$bad" true
check "bob in batch mode (no code) is refused" refused ssh "${SSH_OPTS[@]}" "bob@$USINE_LAB_HOST" true
check "carol logs in with a valid certificate" carol_is_carol
check "carol with an expired certificate is refused" refused as_carol "$USINE_LAB_EXPIRED_CERT_KEY" "$USINE_LAB_EXPIRED_CERT" true
check "carol's key without a certificate is refused" refused as_carol "$USINE_LAB_CERT_KEY" /dev/null true
check "ProxyJump through the bastion (127.0.0.1:$USINE_LAB_JUMP_PORT)" jump_reaches_login
check "the login node forwards TCP (sessions' tunnels)" \
  ssh "${SSH_OPTS[@]}" -i "$USINE_LAB_KEY" -W "127.0.0.1:$USINE_LAB_SSH_PORT" "alice@$USINE_LAB_HOST" </dev/null
# The no-forwarding login node: SSH_OPTS with its port instead of the usual one.
nofwd_refuses() {
  local opts=("${SSH_OPTS[@]:0:${#SSH_OPTS[@]}-2}") said
  said=$(ssh "${opts[@]}" -p "$USINE_LAB_NOFWD_PORT" -i "$USINE_LAB_KEY" \
    -W "127.0.0.1:$USINE_LAB_SSH_PORT" "alice@$USINE_LAB_HOST" </dev/null 2>&1)
  [[ $said == *"administratively prohibited"* ]]
}
check "the login node on :$USINE_LAB_NOFWD_PORT lets alice in but refuses to forward" nofwd_refuses
check "alice's jobs find JupyterLab and TensorBoard in $USINE_LAB_JUPYTER" \
  as_alice "$USINE_LAB_JUPYTER/bin/jupyter lab --version && $USINE_LAB_JUPYTER/bin/tensorboard --version_tb"
check "lab24's node name resolves on the login node" getent hosts node24
check "the bastion lets alice in but gives no shell" bastion_gives_no_shell
check "SFTP works for alice" sftp_round_trip

echo "- Stand-in Lustre ($USINE_LAB_LUSTRE)"
check "lfs quota reports alice's 2 MiB limit there" as_alice "lfs quota -u alice $USINE_LAB_LUSTRE | grep -q ' 2048 '"
check "lfs says a home folder is not on Lustre" refused as_alice 'lfs getstripe -d ~'

echo "- Jobs as alice over SSH"
check "nvidia-smi is not on the default PATH" refused as_alice 'command -v nvidia-smi'
gpu_job=$(as_alice "sbatch --parsable -J smoke-gpu -p gpu --gres=gpu:h100:2 -t 5 -o /tmp/smoke-%j.out \
  --wrap 'echo CVD=\$CUDA_VISIBLE_DEVICES; $USINE_LAB_NVIDIA_SMI --query-gpu=index,utilization.gpu,memory.used --format=csv,noheader,nounits'" 2>&1)
check "sbatch a 2-GPU job (got '$gpu_job')" test -n "${gpu_job##*[!0-9]*}"
check "the GPU job completes (sacct)" wait_job_state "$gpu_job" COMPLETED
check "the job saw 2 GPUs and the stand-in nvidia-smi answered" job_saw_two_gpus "$gpu_job"
check "sacct --json reports the job with 2 GPUs" sacct_json_has_two_gpus "$gpu_job"
check "squeue --json answers" squeue_json_answers
cpu_job=$(as_alice "sbatch --parsable -J smoke-long -p cpu -t 5 --wrap 'sleep 60'" 2>&1)
check "srun --overlap runs inside a running job" srun_overlap_runs "$cpu_job"
as_alice "scancel $cpu_job" >/dev/null 2>&1

echo "- Stand-in nvidia-smi ($USINE_LAB_NVIDIA_SMI)"
smi() { "$USINE_LAB_NVIDIA_SMI" "$@"; }
smi_header_has_units() {
  test "$(smi --query-gpu=index,utilization.gpu,memory.used,power.draw --format=csv,nounits | head -1)" = \
    "index, utilization.gpu [%], memory.used [MiB], power.draw [W]"
}
smi_values_have_units() {
  smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader | grep -Eqx '[0-9]+ %, [0-9]+ MiB'
}
smi_load_changes() {
  # Three samples a second apart of four GPUs: the load must not be frozen.
  local rows
  rows=$(timeout 2.6 "$USINE_LAB_NVIDIA_SMI" --query-gpu=index,utilization.gpu --format=csv,noheader,nounits -l 1)
  echo "$rows"
  test "$(echo "$rows" | wc -l)" -ge 8 && test "$(echo "$rows" | sort -u | wc -l)" -gt 4
}
smi_idle_job_is_idle() {
  test "$(SLURM_JOB_NAME=idle-check smi --query-gpu=utilization.gpu --format=csv,noheader,nounits | sort -u)" = 0
}
check "header keeps units with nounits, as the real tool does" smi_header_has_units
check "values carry units without nounits" smi_values_have_units
check "only CUDA_VISIBLE_DEVICES GPUs are listed, from index 0" \
  test "$(CUDA_VISIBLE_DEVICES=2,3 smi --query-gpu=index --format=csv,noheader | tr '\n' ' ')" = "0 1 "
check "load changes over time" smi_load_changes
check "a job named *idle* sees idle GPUs" smi_idle_job_is_idle
check "an unknown field is refused" refused smi --query-gpu=no.such.field --format=csv

echo "- slurmrestd ($USINE_LAB_REST_URL)"
token=$(scontrol token username=alice lifespan=300 2>/dev/null | sed -n 's/^SLURM_JWT=//p')
check "scontrol issues a JWT" test -n "$token"
rest() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
rest_json() { curl -sf -H 'X-SLURM-USER-NAME: alice' -H "X-SLURM-USER-TOKEN: $token" "$USINE_LAB_REST_URL$1" | jq -e "$2"; }
check "REST ping with a JWT" rest_json /slurm/v0.0.38/ping '.pings[0].ping == "UP"' 
check "REST without a token is 401" test "$(rest "$USINE_LAB_REST_URL/slurm/v0.0.38/ping")" = 401
check "REST with a bad token fails (500, as 22.05 does)" test "$(rest -H 'X-SLURM-USER-NAME: alice' \
  -H 'X-SLURM-USER-TOKEN: not-a-token' "$USINE_LAB_REST_URL/slurm/v0.0.38/ping")" = 500
check "REST accounting: the GPU-hour limit is visible" rest_json /slurmdb/v0.0.38/associations \
  '[.associations[].max.tres.group.minutes[]? | select(.name=="gpu") | .count] | index(6000) != null' 

echo "- Cluster lab24: Slurm 24.11 ($LAB_SLURM2_PREFIX, login 127.0.0.1:$USINE_LAB24_SSH_PORT)"
B24=$LAB_SLURM2_PREFIX/bin
# ssh keeps the first -p it is given: SSH_OPTS without its port.
as_alice24() { ssh "${SSH_OPTS[@]:0:${#SSH_OPTS[@]}-2}" -p "$USINE_LAB24_SSH_PORT" -i "$USINE_LAB_KEY" "alice@$USINE_LAB_HOST" "$@"; }
check "sinfo --version says 24.11 ($("$B24/sinfo" --version 2>&1))" sh -c "'$B24/sinfo' --version | grep -qx 'slurm 24.11.[0-9]*'"
check "scontrol show config: cluster lab24, MinJobAge 30 s" sh -c "'$B24/scontrol' show config |
  grep -Eq '^ClusterName += lab24' && '$B24/scontrol' show config | grep -Eq '^MinJobAge += 30 sec'"
check "node24 has two GPU types" sh -c "'$B24/scontrol' show node node24 | grep -q 'Gres=gpu:h100:2,gpu:a100:2'"
check "slurmdbd of lab24 knows its GPU-hour limit" sh -c "'$B24/sacctmgr' -n -P show assoc cluster=lab24 account=$USINE_LAB_ACCOUNT user= format=GrpTRESMins | grep -qx gres/gpu=6000"
check "alice's login on lab24 finds 24.11's sbatch" test "$(as_alice24 'command -v sbatch')" = "$B24/sbatch"
job24=$(as_alice24 "sbatch --parsable -J smoke-24 -p gpu --gres=gpu:h100:1,gpu:a100:1 -t 5 -o /tmp/smoke24-%j.out \
  --wrap 'echo CVD=\$CUDA_VISIBLE_DEVICES'" 2>&1)
check "sbatch a two-type GPU job on lab24 (got '$job24')" test -n "${job24##*[!0-9]*}"
check "the lab24 job completes (sacct)" wait_job_state "$job24" COMPLETED as_alice24
# One of each type: an H100 (0 or 1) and an A100 (2 or 3), without device cgroups here.
check "the lab24 job saw its 2 GPUs, one of each type" grep -Eqx 'CVD=[01],[23]' "/tmp/smoke24-$job24.out"
token24=$(as_alice24 'scontrol token lifespan=300' 2>/dev/null | sed -n 's/^SLURM_JWT=//p')
check "lab24 issues alice a JWT" test -n "$token24"
rest24() { curl -sf -H 'X-SLURM-USER-NAME: alice' -H "X-SLURM-USER-TOKEN: $token24" "$USINE_LAB24_REST_URL$1" | jq -e "$2"; }
for v in 40 41 42; do
  check "lab24 slurmrestd answers v0.0.$v" rest24 "/slurm/v0.0.$v/ping" '.pings[0].pinged == "UP"'
done
check "lab24 slurmrestd lists v0.0.40-42 in its OpenAPI document" rest24 /openapi/v3 \
  '[.paths | keys[] | select(startswith("/slurm/v0.0.4")) | split("/")[2]] | unique == ["v0.0.40","v0.0.41","v0.0.42"]'
ctld_only() { curl -s -o /dev/null -w '%{http_code}' -H 'X-SLURM-USER-NAME: alice' -H "X-SLURM-USER-TOKEN: $token24" "$USINE_LAB24_REST_CTLD_ONLY_URL$1"; }
ctld_only_serves_slurmctld() {
  test "$(ctld_only /slurm/v0.0.42/ping)/$(ctld_only "/slurmdb/v0.0.42/job/$job24")" = 200/404
}
check "lab24's second slurmrestd serves slurmctld only" ctld_only_serves_slurmctld
check "lab24 REST accounting knows the two-type job" rest24 "/slurmdb/v0.0.42/job/$job24" \
  '[.jobs[0].tres.allocated[] | select(.type=="gres" and .name=="gpu") | .count] == [2]'

echo "- Browser login: identity provider $USINE_LAB_IDP_URL, CA stand-ins"
check "the identity provider publishes PKCE, the device flow and offline access" sh -c \
  "curl -sf '$USINE_LAB_IDP_URL/.well-known/openid-configuration' | jq -e '(.code_challenge_methods_supported | index(\"S256\")) and .device_authorization_endpoint and (.scopes_supported | index(\"offline_access\"))'"
check "step-ca serves its root by fingerprint, over TLS under that root" sh -c \
  "curl -sf --cacert '$LAB_STATE/ca/stepca_root.pem' '$USINE_LAB_STEPCA_URL/root/$USINE_LAB_STEPCA_FINGERPRINT' | jq -e '.ca | startswith(\"-----BEGIN CERTIFICATE\")'"
check "step-ca lists its OIDC provisioners" sh -c \
  "curl -sf --cacert '$LAB_STATE/ca/stepca_root.pem' '$USINE_LAB_STEPCA_URL/provisioners' | jq -e '[.provisioners[].name] == [\"lab-oidc\", \"lab-oidc-fixed-port\"]'"
check "the federation CA publishes its key" sh -c "curl -sf '$USINE_LAB_SSHCA_URL/config' | jq -e '.PublicKey | startswith(\"ssh-ed25519 \")'"
check "the signing service refuses a request without a token (401)" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "$USINE_LAB_SIGNER_URL")" = 401
check "sshd asks the principals command (domain grant)" grep -q '^AuthorizedPrincipalsCommand /usr/local/sbin/usine-lab-principals lab ' /etc/ssh/sshd_usine_lab_config

echo
echo "lab smoke check: $pass passed, $fail failed"
if [ "$fail" -gt 0 ]; then
  printf '  failed: %s\n' "${failed[@]}"
  echo "  (logs: /var/log/slurm/, /var/log/slurm24/, /var/log/sshd-usine-lab*.log, /var/log/mysql/error.log)"
  exit 1
fi
