#!/bin/bash
# compose-node.sh: entrypoint of each node in docker-compose.yml.
#
# First start: `tally init` this node (p2p on its fixed network address, API
# on 0.0.0.0:4711 inside the container), publish its card to the shared
# /cards volume, wait for the cards of TALLY_PEERS and `tally trust add`
# each. Every start: exec `tally run` (SIGTERM from `docker compose stop`
# reaches the node directly).
#
# Environment: TALLY_AUTHORITY (e.g. US-DDTC), TALLY_NAME, TALLY_P2P_IP (this
# container's fixed address on the compose network), TALLY_PEERS (space
# separated authority ids), TALLY_CARD_WAIT (seconds, default 120).
set -euo pipefail

dir=/var/lib/tally
cards=/cards
: "${TALLY_AUTHORITY:?}" "${TALLY_NAME:?}" "${TALLY_P2P_IP:?}"
peers=${TALLY_PEERS:-}
wait_s=${TALLY_CARD_WAIT:-120}

if [[ ! -f $dir/tally.toml ]]; then
  echo "compose-node: initialising $TALLY_AUTHORITY in $dir"
  # The admin token is printed once, here: read it with `docker compose logs`.
  tally init --dir "$dir" --authority "$TALLY_AUTHORITY" --name "$TALLY_NAME" \
    --p2p-listen "/ip4/$TALLY_P2P_IP/tcp/4710" --api-listen 0.0.0.0:4711
fi

# Publish the card atomically (readers never see half a file).
cp "$dir/card.toml" "$cards/.$TALLY_AUTHORITY.toml.tmp"
mv -f "$cards/.$TALLY_AUTHORITY.toml.tmp" "$cards/$TALLY_AUTHORITY.toml"

# Trust the peers once; later changes are the operator's (`tally trust ...`
# through `docker compose exec`), and a restart must not undo a removal.
if [[ ! -f $dir/.compose-trusted ]]; then
  for peer in $peers; do
    card=$cards/$peer.toml
    for ((i = 0; i < wait_s; i++)); do
      [[ -f $card ]] && break
      sleep 1
    done
    if [[ ! -f $card ]]; then
      echo "compose-node: no card from $peer in $cards after ${wait_s}s" >&2
      exit 1
    fi
    tally trust add --dir "$dir" "$card"
  done
  touch "$dir/.compose-trusted"
fi

exec tally run --dir "$dir"
