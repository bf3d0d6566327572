#!/usr/bin/env bash
# Prints the Tauri configuration (JSON) that turns signed updates on, for `tauri build --config`,
# from the environment; prints {} when no update key is named, so such builds leave updates to
# the package manager.
#   USINE_UPDATE_PUBKEY     the public key (`tauri signer generate` writes it to KEY.pub)
#   USINE_UPDATE_ENDPOINT   the URL of latest.json (https; plain http only on 127.0.0.1, for tests)
#   TAURI_SIGNING_PRIVATE_KEY[_PASSWORD]  read by `tauri build`: it then also signs the bundles
#                           for the updater (.sig files next to them)
set -euo pipefail
if [ -z "${USINE_UPDATE_PUBKEY:-}" ]; then
  echo '{}'
  exit 0
fi
endpoint="${USINE_UPDATE_ENDPOINT:?USINE_UPDATE_ENDPOINT: where latest.json is published}"
case "$endpoint" in
  https://*) insecure=false ;;
  http://127.0.0.1:*) insecure=true ;;
  *) echo "USINE_UPDATE_ENDPOINT must be https (or http://127.0.0.1 for tests): $endpoint" >&2; exit 1 ;;
esac
[[ "$USINE_UPDATE_PUBKEY$endpoint" =~ ^[A-Za-z0-9+/=:._~%/-]+$ ]] ||
  { echo "unexpected characters in USINE_UPDATE_PUBKEY or USINE_UPDATE_ENDPOINT" >&2; exit 1; }
artifacts=false
[ -z "${TAURI_SIGNING_PRIVATE_KEY:-}" ] || artifacts=true
echo "signed updates on: $endpoint (update artifacts signed: $artifacts)" >&2
# The signature must name the version it was made for: an old, genuinely signed release cannot
# then be announced as a new one.
cat <<JSON
{ "bundle": { "createUpdaterArtifacts": $artifacts },
  "plugins": { "updater": { "pubkey": "$USINE_UPDATE_PUBKEY", "endpoints": ["$endpoint"],
    "requireSignedVersion": true, "dangerousInsecureTransportProtocol": $insecure } } }
JSON
