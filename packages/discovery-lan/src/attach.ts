/**
 * Feeds LAN discoveries into the address book and, while the node is below its outbound target,
 * dials them. LAN addresses are private by nature, so they enter even a strict book.
 */
import createDebug from 'debug'
import type { Switch } from '@switchyard/p2p'
import type { AddrBook } from '@switchyard/pex'
import type { DiscoveredPeer, LanDiscovery } from './lan-discovery.js'

const log = createDebug('switchyard:discovery-lan:attach')

export function attachLanDiscovery (discovery: LanDiscovery, sw: Switch, book?: AddrBook): () => void {
  const onPeer = ({ id, address }: DiscoveredPeer): void => {
    book?.addAddress(address, address, { allowNonRoutable: true })
    if (!sw.isRunning || sw.isDialingOrConnected(id)) return
    const { outbound, dialing } = sw.numPeers()
    if (outbound + dialing >= sw.maxOutboundPeers) return
    sw.dial(address).catch(err => log('dial %s failed: %s', address.toString(), (err as Error).message))
  }
  discovery.on('peer', onPeer)
  return () => { discovery.off('peer', onPeer) }
}
