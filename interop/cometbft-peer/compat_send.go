//go:build !cmt034 && !cmt037

// CometBFT v0.38 and later: peers send envelopes with Send. (Reactors receive them with
// Receive(e p2p.Envelope) on every line: build.sh renames that method to ReceiveEnvelope, the
// name v0.34 and v0.37 call, when it builds those lines.)
package main

import "github.com/cometbft/cometbft/p2p"

func sendTo(p p2p.Peer, e p2p.Envelope) bool { return p.Send(e) }
