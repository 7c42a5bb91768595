/**
 * Whether an authenticated connection may become a peer: a pure decision over the peers we have,
 * the limits and the peer lists. No sockets, no clocks of its own — the Switch passes `now` — so
 * every rule has a unit test (test/admission.test.ts).
 */
import type { SwitchyardError } from '@switchyard/wire'
import { DuplicateIpError, DuplicatePeerError, SwitchStoppedError, TooManyPeersError } from './errors.js'

export interface AdmissionPolicy {
  ourId: string
  maxInboundPeers: number
  maxOutboundPeers: number
  allowDuplicateIp: boolean
  /** IDs exempt from the limits and the duplicate-IP rule. */
  unconditional: ReadonlySet<string>
  /** IDs from persistentPeers: exempt from the outbound limit. */
  persistent: { has: (id: string) => boolean }
  /** ms after a peer connects during which a second connection counts as a simultaneous dial. */
  simultaneousConnectWindow: number
}

/** What the decision needs to know of a connected peer. */
export interface AdmittedPeerView {
  id: string
  outbound: boolean
  remoteIp: string
  /** performance.now() when it was added. */
  addedAt: number
}

export interface Candidate {
  id: string
  outbound: boolean
  remoteIp: string
  /** We dialed it as a persistent peer. */
  persistentDial?: boolean
  /** A dial exempt from the outbound limit (PEX seeds, crawls). */
  exemptFromLimits?: boolean
}

export type Admission =
  | { accept: true, persistent: boolean, unconditional: boolean, /** ID of a peer to close first (a simultaneous dial). */ replaces?: string }
  | { accept: false, error: SwitchyardError }

/** The peers a decision looks at: a Map, or a view computed from one without copying it. */
export interface AdmittedPeers {
  get: (id: string) => AdmittedPeerView | undefined
  values: () => Iterable<AdmittedPeerView>
}

export function decideAdmission (
  policy: AdmissionPolicy, peers: AdmittedPeers, c: Candidate, running: boolean, now: number
): Admission {
  if (!running) return { accept: false, error: new SwitchStoppedError() }
  let replaces: string | undefined
  const existing = peers.get(c.id)
  if (existing !== undefined) {
    // Two nodes that dial each other at the same moment end up with two connections, and if each
    // side refused its second one they would lose both. Both sides instead keep the connection
    // dialed by the node with the lower ID and close the other, so they agree on which survives.
    // Outside that moment a duplicate is refused.
    const keepOutbound = policy.ourId < c.id
    const young = now - existing.addedAt < policy.simultaneousConnectWindow
    if (!young || c.outbound !== keepOutbound || existing.outbound === keepOutbound) return { accept: false, error: new DuplicatePeerError(c.id) }
    replaces = c.id
  }
  const unconditional = policy.unconditional.has(c.id)
  const persistent = c.persistentDial === true || policy.persistent.has(c.id)
  let inbound = 0
  let outbound = 0
  for (const p of peers.values()) {
    if (p.id === replaces) continue
    if (p.outbound) outbound++
    else inbound++
    if (!policy.allowDuplicateIp && !unconditional && p.remoteIp === c.remoteIp) return { accept: false, error: new DuplicateIpError(c.remoteIp) }
  }
  if (!c.outbound && !unconditional && inbound >= policy.maxInboundPeers) {
    return { accept: false, error: new TooManyPeersError('inbound', policy.maxInboundPeers) }
  }
  if (c.outbound && !unconditional && !persistent && c.exemptFromLimits !== true && outbound >= policy.maxOutboundPeers) {
    return { accept: false, error: new TooManyPeersError('outbound', policy.maxOutboundPeers) }
  }
  return { accept: true, persistent, unconditional, ...(replaces !== undefined ? { replaces } : {}) }
}
