/**
 * Feeds LAN discoveries into the address book and, while the node is below its outbound target,
 * dials them. LAN addresses are private by nature, so they enter even a strict book.
 *
 * Dials are paced: only the node with the lower ID dials at once (the other waits `dialGrace`,
 * then dials too if still unconnected, e.g. because the lower one is full), so two nodes that hear
 * each other do not both dial and collide; and an address whose dial failed is retried only after
 * an exponential back-off, so a replayed announcement cannot make us dial a stranger twice a second.
 */
import createDebug from 'debug'
import type { Switch } from '@switchyard/p2p'
import type { AddrBook } from '@switchyard/pex'
import type { DiscoveredPeer, LanDiscovery } from './lan-discovery.js'

const log = createDebug('switchyard:discovery-lan:attach')

export interface AttachOptions {
  /** First back-off after a failed dial, doubled per failure up to backoffMax (default 1 s, 5 min). */
  backoffBase?: number
  backoffMax?: number
  /** How long the higher-ID node leaves the dial to the lower-ID one (default 5 s). */
  dialGrace?: number
  /** Addresses and IDs remembered for back-off and grace (default 1024, least recent forgotten). */
  maxTracked?: number
  now?: () => number
}

/** A Map bounded to `max` entries, oldest-touched evicted first. */
function setBounded<K, V> (m: Map<K, V>, k: K, v: V, max: number): void {
  m.delete(k)
  if (m.size >= max) m.delete(m.keys().next().value!)
  m.set(k, v)
}

export function attachLanDiscovery (discovery: LanDiscovery, sw: Switch, book?: AddrBook, options: AttachOptions = {}): () => void {
  const now = options.now ?? (() => performance.now())
  const base = options.backoffBase ?? 1000
  const max = options.backoffMax ?? 5 * 60_000
  const grace = options.dialGrace ?? 5000
  const maxTracked = options.maxTracked ?? 1024
  const backoff = new Map<string, { failures: number, until: number }>()
  const firstHeard = new Map<string, number>()
  const ourId = sw.nodeKey.id

  const onPeer = ({ id, address }: DiscoveredPeer): void => {
    book?.addAddress(address, address, { allowNonRoutable: true })
    if (!firstHeard.has(id)) setBounded(firstHeard, id, now(), maxTracked)
    if (!sw.isRunning || sw.isDialingOrConnected(id)) return
    if (ourId > id && now() - firstHeard.get(id)! < grace) return // theirs to dial first
    const key = address.toString()
    const b = backoff.get(key)
    if (b !== undefined && now() < b.until) return
    const { outbound, dialing } = sw.numPeers()
    if (outbound + dialing >= sw.maxOutboundPeers) return
    sw.dial(address).then(() => { backoff.delete(key) }, err => {
      if (sw.peers.has(id)) { backoff.delete(key); return } // they dialled us meanwhile
      const failures = (backoff.get(key)?.failures ?? 0) + 1
      setBounded(backoff, key, { failures, until: now() + Math.min(max, base * 2 ** (failures - 1)) }, maxTracked)
      log('dial %s failed (%d in a row): %s', key, failures, (err as Error).message)
    })
  }
  discovery.on('peer', onPeer)
  return () => { discovery.off('peer', onPeer) }
}
