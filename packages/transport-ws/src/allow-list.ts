/**
 * The allow-list mode of /ws: which PeerIDs may upgrade. A peer is known when it is in the
 * explicit list, a persistent peer of the Switch, or in the address book and not banned.
 * The predicate is checked per request, so peers the book learns later are admitted.
 */
import type { Switch } from '@switchyard/p2p'

export interface AllowListSources {
  /** Explicit IDs (e.g. unconditional_peer_ids, or an operator's list). */
  ids?: Iterable<string>
  /** The Switch: its persistent peers are admitted. */
  switch?: Pick<Switch, 'isPersistent'>
  /** An address book (the AddrBook of @switchyard/pex fits): its known, unbanned IDs are admitted. */
  book?: { get: (id: string) => unknown, isBanned?: (id: string) => boolean }
}

export function allowList (sources: AllowListSources): (peerId: string) => boolean {
  const ids = new Set([...(sources.ids ?? [])].map(id => id.toLowerCase()))
  return peerId => {
    if (ids.has(peerId)) return true
    if (sources.switch?.isPersistent(peerId) === true) return true
    const book = sources.book
    return book !== undefined && book.get(peerId) !== undefined && book.isBanned?.(peerId) !== true
  }
}
