#!/bin/sh
# The demo with every authority's signing key in a SoftHSM2 token
# (docs/OPERATIONS.md, "Signing keys in an HSM (PKCS#11)").
#
#   deploy/demo-pkcs11.sh            # from the repository root
#   TALLY=/usr/local/bin/tally deploy/demo-pkcs11.sh
#
# Needs SoftHSM2 (Debian/Ubuntu: apt-get install softhsm2). The token lives in
# a temporary directory, removed when the demo stops (Ctrl-C).
set -eu

MODULE=${PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
if ! command -v softhsm2-util >/dev/null 2>&1 || [ ! -f "$MODULE" ]; then
    echo "SoftHSM2 is not installed (softhsm2-util, $MODULE): apt-get install softhsm2" >&2
    exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tally-demo-pkcs11.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
mkdir -p "$WORK/tokens"
cat > "$WORK/softhsm2.conf" <<CONF
directories.tokendir = $WORK/tokens
objectstore.backend = file
log.level = ERROR
CONF
export SOFTHSM2_CONF="$WORK/softhsm2.conf"

# A fresh PIN for this demo's token; the SO PIN is not used afterwards.
PIN=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$PIN" > "$WORK/pin"
chmod 600 "$WORK/pin"
softhsm2-util --init-token --free --label tally-demo \
    --so-pin "$PIN" --pin "$PIN" >/dev/null

${TALLY:-cargo run --release --locked --} demo --dir "$WORK/demo" \
    --pkcs11-module "$MODULE" --token-label tally-demo --pin-file "$WORK/pin" "$@"
