module switchyard.dev/interop/cometbft-peer

go 1.22.11

// CometBFT v0.34.35 is published as github.com/cometbft/cometbft but its go.mod names the module
// github.com/tendermint/tendermint, so we require it under that name and fetch it from the
// cometbft path. Its own replace directives are ignored (they only apply to the main module).
require (
	github.com/gogo/protobuf v1.3.2
	github.com/tendermint/tendermint v0.34.35
)

require golang.org/x/sys v0.25.0

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/btcsuite/btcd/btcec/v2 v2.3.4 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/decred/dcrd/dcrec/secp256k1/v4 v4.0.1 // indirect
	github.com/go-kit/kit v0.13.0 // indirect
	github.com/go-kit/log v0.2.1 // indirect
	github.com/go-logfmt/logfmt v0.6.0 // indirect
	github.com/gtank/merlin v0.1.1 // indirect
	github.com/libp2p/go-buffer-pool v0.1.0 // indirect
	github.com/mimoo/StrobeGo v0.0.0-20220103164710-9a04d6ca976b // indirect
	github.com/minio/highwayhash v1.0.3 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/prometheus/client_golang v1.20.3 // indirect
	github.com/prometheus/client_model v0.6.1 // indirect
	github.com/prometheus/common v0.59.1 // indirect
	github.com/prometheus/procfs v0.15.1 // indirect
	golang.org/x/crypto v0.27.0 // indirect
	golang.org/x/net v0.29.0 // indirect
	google.golang.org/protobuf v1.34.2 // indirect
)

replace github.com/tendermint/tendermint => github.com/cometbft/cometbft v0.34.35
