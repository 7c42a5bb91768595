//go:build cmt037

package main

import "github.com/cometbft/cometbft/p2p"

// v0.37 peers send envelopes with SendEnvelope.
func sendTo(p p2p.Peer, e p2p.Envelope) bool { return p.SendEnvelope(e) }
