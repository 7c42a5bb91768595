#!/usr/bin/env bash
# Builds cometbft-peer for the CometBFT lines named (default: all), in parallel, into bin/.
#   ./build.sh            all lines          ./build.sh v0.34 v1.0    just those
# One source for every line: sending differs and lives in compat_*.go behind build tags; the rest is
# a mechanical rewrite for the old lines (below). The files in this folder are never modified.
set -euo pipefail
cd "$(dirname "$0")"
export GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"

# line  modfile      binary               tags
table='v0.34 go.v034.mod cometbft-peer-v034 cmt034
v0.37 go.v037.mod cometbft-peer-v037 cmt037
v0.38 go.mod cometbft-peer -
v0.40 go.v040.mod cometbft-peer-v040 -
v1.0 go.v1.mod cometbft-peer-v1 -'

# v0.34 and v0.37 call a reactor's ReceiveEnvelope(Envelope) (v0.38+: Receive(Envelope)); v0.34 is
# also the module github.com/tendermint/tendermint built with gogo/protobuf. Their builds see the
# sources rewritten accordingly, through go build -overlay (copies under bin/.<line>-src/).
rewrite () {
  local line=$1 src=$2
  local -a rules=(-E -e 's/^(func \([^)]*\) )Receive\(([a-zA-Z_]+) p2p\.Envelope\)/\1ReceiveEnvelope(\2 p2p.Envelope)/')
  [ "$line" = v0.34 ] && rules+=(-e 's#"github.com/cometbft/cometbft/#"github.com/tendermint/tendermint/#' \
                                -e 's#"github.com/cosmos/gogoproto/#"github.com/gogo/protobuf/#')
  rm -rf "$src" && mkdir -p "$src"
  local json='{"Replace":{' sep=''
  for f in *.go; do
    sed "${rules[@]}" "$f" > "$src/$f"
    json+="$sep\"$PWD/$f\":\"$src/$f\""; sep=','
  done
  echo "$json}}" > "$src/overlay.json"
}

build_one () {
  local line=$1 modfile=$2 binary=$3 tags=$4 overlay=() tagflags=()
  [ "$tags" != - ] && tagflags=(-tags "$tags")
  if [ "$line" = v0.34 ] || [ "$line" = v0.37 ]; then
    local src="$PWD/bin/.${line}-src"
    rewrite "$line" "$src"
    overlay=(-overlay "$src/overlay.json")
  fi
  go build -modfile "$modfile" "${tagflags[@]}" "${overlay[@]}" -o "bin/$binary" . \
    || { echo "cometbft-peer: build for CometBFT $line failed" >&2; return 1; }
}

want=("$@")
pids=()
while read -r line modfile binary tags; do
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " == *" $line "* ]]; then continue; fi
  build_one "$line" "$modfile" "$binary" "$tags" & pids+=($!)
done <<< "$table"
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
exit $status
