//go:build cmt034

package main

import "github.com/cometbft/cometbft/p2p"

// v0.34's Peer interface still has the byte-slice Send; its peers also implement EnvelopeSender.
func sendTo(p p2p.Peer, e p2p.Envelope) bool { return p.(p2p.EnvelopeSender).SendEnvelope(e) }
