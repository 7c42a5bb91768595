//go:build cmt034 || cmt037

// CometBFT v0.34 and v0.37: envelopes arrive through ReceiveEnvelope (v0.34 falls back to the
// byte-slice Receive only for reactors without it; ours has it).
package main

import "github.com/cometbft/cometbft/p2p"

func (r *echoReactor) ReceiveEnvelope(e p2p.Envelope) { r.handle(e) }
