//go:build !cmt034 && !cmt037

// CometBFT v0.38 and later: reactors implement Receive(Envelope) and peers Send(Envelope).
package main

import "github.com/cometbft/cometbft/p2p"

func (r *echoReactor) Receive(e p2p.Envelope) { r.handle(e) }

func sendTo(p p2p.Peer, e p2p.Envelope) bool { return p.Send(e) }
