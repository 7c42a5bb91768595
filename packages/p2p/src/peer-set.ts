/**
 * The connected peers and their lifecycle: admit an authenticated connection (decideAdmission),
 * then initPeer on every reactor → the MConnection starts → addPeer; when the connection closes,
 * removePeer with the reason. A reactor callback that throws stops only that peer (ERR_REACTOR).
 */
import createDebug from 'debug'
import { MConnection, type MConnectionOptions } from '@switchyard/conn'
import { SwitchyardError } from '@switchyard/wire'
import { decideAdmission, type AdmissionPolicy, type AdmittedPeers, type AdmittedPeerView } from './admission.js'
import { DuplicatePeerError, PeerStoppedError } from './errors.js'
import { InboundQueue } from './inbound-queue.js'
import { Peer } from './peer.js'
import type { RemoveReason } from './reactor.js'
import type { Router } from './router.js'
import type { Connection } from './transport.js'

const log = createDebug('switchyard:p2p:peers')
const logError = createDebug('switchyard:p2p:peers:error')

export interface PeerSetOptions {
  router: Router
  policy: AdmissionPolicy
  connection?: Omit<MConnectionOptions, 'channels'>
  /** Messages waiting for a peer's async reactors before we stop reading from it. */
  maxInboundQueue: number
  isRunning: () => boolean
  onAdded: (peer: Peer, conn: Connection) => void
  /** `announced` is false for a peer whose addPeer failed: onAdded never ran for it. */
  onRemoved: (peer: Peer, reason: RemoveReason, announced: boolean) => void
  onRefused: (address: string, outbound: boolean, error: SwitchyardError) => void
}

export class PeerSet {
  readonly byId = new Map<string, Peer>()
  private readonly o: PeerSetOptions
  private readonly addedAt = new Map<string, number>()
  private readonly inbound = new Map<Peer, InboundQueue>()
  private readonly announced = new WeakSet<Peer>()

  constructor (options: PeerSetOptions) {
    this.o = options
  }

  /** What decideAdmission sees of the peers, read from byId as it asks (no copy per admission). */
  private readonly views: AdmittedPeers = {
    get: id => { const p = this.byId.get(id); return p === undefined ? undefined : this.view(p) },
    values: () => this.viewsOf()
  }

  private * viewsOf (): Generator<AdmittedPeerView> {
    for (const p of this.byId.values()) yield this.view(p)
  }

  private view (p: Peer): AdmittedPeerView {
    return { id: p.id, outbound: p.outbound, remoteIp: p.remoteIp, addedAt: this.addedAt.get(p.id) ?? 0 }
  }

  /** Disconnects a peer at once; its reactors hear removePeer with `error`. */
  stop (peer: Peer, error: SwitchyardError): void {
    logError('stopping peer %s: %s', peer.id, error.message)
    peer.disconnect(error)
  }

  /** Turns an authenticated connection into a peer, or refuses it (closing it) and says why. */
  admit (conn: Connection, persistentDial: boolean, exempt: boolean): Peer | SwitchyardError {
    const id = conn.peerId
    const refuse = (error: SwitchyardError): SwitchyardError => {
      conn.conn.destroy()
      this.o.onRefused(`${id}@${conn.remoteIp}:${conn.remotePort}`, conn.outbound, error)
      return error
    }
    const candidate = { id, outbound: conn.outbound, remoteIp: conn.remoteIp, persistentDial, exemptFromLimits: exempt }
    const decision = decideAdmission(this.o.policy, this.views, candidate, this.o.isRunning(), performance.now())
    if (!decision.accept) return refuse(decision.error)
    if (decision.replaces !== undefined) {
      const who = conn.outbound ? 'we' : 'they'
      log('simultaneous connections with %s: keeping the one %s dialed', id, who)
      this.byId.get(id)?.disconnect(new DuplicatePeerError(`${id} (replaced by the connection ${who} dialed)`))
    }

    const peer = new Peer(id, conn.peerNodeInfo, { outbound: conn.outbound, persistent: decision.persistent, unconditional: decision.unconditional }, conn.remoteIp, conn.remotePort, conn.dialed)
    const initFailed = this.o.router.callEach('initPeer', peer)
    if (initFailed !== undefined) return refuse(initFailed)
    const mconn = new MConnection(conn.conn, { ...this.o.connection, channels: this.o.router.channels })
    peer.attach(mconn)
    peer.messageBytes = this.o.router.messageBytes
    const queue = new InboundQueue(this.o.maxInboundQueue, () => mconn.pause(), () => mconn.resume(), err => {
      this.stop(peer, err instanceof SwitchyardError ? err : new PeerStoppedError(`message delivery failed: ${(err as Error)?.message ?? String(err)}`))
    })
    this.inbound.set(peer, queue)
    this.byId.set(id, peer)
    this.addedAt.set(id, performance.now())
    mconn.on('message', (chId, data) => {
      const handler = this.o.router.route(peer, chId, data)
      if (handler instanceof SwitchyardError) this.stop(peer, handler)
      else if (handler !== undefined) queue.deliver(handler)
    })
    mconn.once('close', reason => { this.removed(peer, reason) })
    const addFailed = this.o.router.callEach('addPeer', peer)
    if (addFailed !== undefined) {
      // The peer was added: stop it like any failing peer, so every reactor hears removePeer.
      this.stop(peer, addFailed)
      return addFailed
    }
    log('added peer %s (%s, %s)', id, peer.moniker, conn.outbound ? 'outbound' : 'inbound')
    this.announced.add(peer)
    this.o.onAdded(peer, conn)
    return peer
  }

  private removed (peer: Peer, reason: RemoveReason): void {
    if (this.byId.get(peer.id) !== peer) return
    this.byId.delete(peer.id)
    this.addedAt.delete(peer.id)
    this.inbound.get(peer)?.clear()
    this.inbound.delete(peer)
    this.o.router.removePeer(peer, reason)
    log('removed peer %s: %s', peer.id, reason?.message ?? 'stopped gracefully')
    this.o.onRemoved(peer, reason, this.announced.has(peer))
  }
}
