#!/usr/bin/env bash
# local-net.sh N [BASE_PORT]: a local Tally network of N nodes on loopback.
#
# Builds target/release/tally if it is missing, `tally init`s N nodes (node i
# gets p2p port BASE_PORT+2i and API port BASE_PORT+2i+1), makes every node
# trust every other, starts them in the background, waits until each node's
# /v1/status shows N-1 connected peers, prints each node's API URL and admin
# token, and stops them all on Ctrl-C (or SIGTERM).
#
# Environment:
#   TALLY_NET_DIR   where the node directories go (default: a new temp dir,
#                   removed on exit; a given dir is kept and must not hold nodes)
#   TALLY_BIN       the tally binary (default: <repo>/target/release/tally)
#   TALLY_NET_WAIT  seconds to wait for the mesh (default: 60)
#   TALLY_NET_ONESHOT=1  print the summary and stop at once (for scripted tests)
set -euo pipefail

usage() { echo "usage: $0 N [BASE_PORT]   (2 <= N <= ${#AUTHORITIES[@]}, default BASE_PORT 4800)" >&2; exit 2; }

# Real-looking authority ids, CC-NAME, with the names on their cards.
AUTHORITIES=(
  "US-DDTC|Directorate of Defense Trade Controls"
  "MX-SEDENA|Secretaria de la Defensa Nacional"
  "GT-DIGECAM|Direccion General de Control de Armas y Municiones"
  "CA-GAC|Global Affairs Canada, Export Controls"
  "BR-EB|Exercito Brasileiro, Diretoria de Fiscalizacao de Produtos Controlados"
  "CO-DCCA|Departamento Control Comercio de Armas"
  "AR-ANMAC|Agencia Nacional de Materiales Controlados"
  "CL-DGMN|Direccion General de Movilizacion Nacional"
  "PE-SUCAMEC|Superintendencia Nacional de Control de Servicios de Seguridad, Armas, Municiones y Explosivos"
  "HN-DAICE|Direccion de Armas, Infraestructura y Control de Explosivos"
  "SV-DLCA|Direccion de Logistica, Control de Armas"
  "CR-DGAE|Direccion General de Armamento"
  "PA-DIASP|Direccion Institucional en Asuntos de Seguridad Publica"
  "DO-MIP|Ministerio de Interior y Policia"
  "JM-FLA|Firearm Licensing Authority"
  "TT-TTPS|Trinidad and Tobago Police Service, Firearms Unit"
)

N=${1:-}
BASE=${2:-4800}
if ! [[ $N =~ ^[0-9]+$ ]] || (( N < 2 || N > ${#AUTHORITIES[@]} )); then usage; fi
if ! [[ $BASE =~ ^[0-9]+$ ]] || (( BASE < 1024 || BASE + 2 * N > 65535 )); then usage; fi
command -v curl >/dev/null || { echo "local-net.sh needs curl" >&2; exit 2; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${TALLY_BIN:-$REPO/target/release/tally}
WAIT=${TALLY_NET_WAIT:-60}

if [[ ! -x $BIN ]]; then
  echo "building $BIN (cargo build --release --locked -p tally-node) ..." >&2
  (cd "$REPO" && cargo build --release --locked -p tally-node) >&2
fi

if [[ -n ${TALLY_NET_DIR:-} ]]; then
  ROOT=$TALLY_NET_DIR
  mkdir -p "$ROOT"
  KEEP=1
else
  ROOT=$(mktemp -d "${TMPDIR:-/tmp}/tally-net.XXXXXX")
  KEEP=0
fi

PIDS=()
# shellcheck disable=SC2317  # invoked through the EXIT trap
cleanup() {
  local code=$?
  trap - EXIT INT TERM
  if ((${#PIDS[@]})); then
    echo "stopping ${#PIDS[@]} node(s) ..." >&2
    kill -TERM "${PIDS[@]}" 2>/dev/null || true
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  fi
  if ((KEEP == 0)); then rm -rf "$ROOT"; else echo "node directories kept in $ROOT" >&2; fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A JSON string field of a one-line object (no jq needed).
json_field() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p"; }

IDS=() DIRS=() APIS=() TOKENS=()
for ((i = 0; i < N; i++)); do
  id=${AUTHORITIES[i]%%|*}
  name=${AUTHORITIES[i]#*|}
  dir=$ROOT/$(tr '[:upper:]' '[:lower:]' <<<"$id")
  p2p=$((BASE + 2 * i))
  api=$((BASE + 2 * i + 1))
  out=$("$BIN" init --dir "$dir" --authority "$id" --name "$name" \
    --p2p-listen "/ip4/127.0.0.1/tcp/$p2p" --api-listen "127.0.0.1:$api" --json)
  token=$(json_field admin_token <<<"$out")
  [[ -n $token ]] || { echo "tally init $id: no admin_token in: $out" >&2; exit 1; }
  IDS+=("$id") DIRS+=("$dir") APIS+=("http://127.0.0.1:$api") TOKENS+=("$token")
done

for ((i = 0; i < N; i++)); do
  for ((j = 0; j < N; j++)); do
    ((i == j)) && continue
    "$BIN" trust add --dir "${DIRS[i]}" "${DIRS[j]}/card.toml" >/dev/null
  done
done

started=$SECONDS
for ((i = 0; i < N; i++)); do
  "$BIN" run --dir "${DIRS[i]}" >"${DIRS[i]}/node.log" 2>&1 &
  PIDS+=($!)
done

# Connected peers of node i, as /v1/status reports them (0 while it is not up).
connected() {
  local body
  body=$(curl -fsS --max-time 2 -H "Authorization: Bearer ${TOKENS[$1]}" "${APIS[$1]}/v1/status" 2>/dev/null) || { echo 0; return; }
  grep -o '"connected": *true' <<<"$body" | wc -l | tr -d ' '
}

echo "waiting for $N nodes to connect to each other (up to ${WAIT}s) ..." >&2
deadline=$((SECONDS + WAIT))
while :; do
  ready=0
  for ((i = 0; i < N; i++)); do
    if ! kill -0 "${PIDS[i]}" 2>/dev/null; then
      echo "${IDS[i]} exited; its log:" >&2
      tail -n 30 "${DIRS[i]}/node.log" >&2
      exit 1
    fi
    (( $(connected "$i") >= N - 1 )) && ready=$((ready + 1))
  done
  ((ready == N)) && break
  if ((SECONDS >= deadline)); then
    echo "timeout: only $ready of $N nodes see $((N - 1)) connected peers after ${WAIT}s" >&2
    for ((i = 0; i < N; i++)); do echo "  ${IDS[i]}: $(connected "$i") connected" >&2; done
    exit 1
  fi
  sleep 0.5
done

echo
echo "Tally local network: $N nodes, fully connected $((SECONDS - started)) s after start"
for ((i = 0; i < N; i++)); do
  printf '%-12s api %s  admin token %s\n' "${IDS[i]}" "${APIS[i]}" "${TOKENS[i]}"
  printf '%-12s dir %s (log: node.log)\n' "" "${DIRS[i]}"
done
if [[ ${TALLY_NET_ONESHOT:-0} == 1 ]]; then
  exit 0
fi
echo
echo "Ctrl-C stops the network."
# Stay in the foreground; the first node to die ends the network.
wait -n "${PIDS[@]}" || true
echo "a node exited; stopping the others" >&2
exit 1
