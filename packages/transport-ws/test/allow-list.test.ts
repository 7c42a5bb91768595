import { describe, expect, it } from 'vitest'
import { NetAddress, NodeKey, Switch } from '@switchyard/p2p'
import { AddrBook } from '@switchyard/pex'
import { allowList } from '@switchyard/transport-ws'

describe('allowList', () => {
  it('admits explicit IDs, persistent peers and unbanned book entries, and nobody else; the book is read per call', () => {
    const [listed, persistent, inBook, banned, later, stranger] = Array.from({ length: 6 }, () => NodeKey.generate().id) as [string, string, string, string, string, string]
    const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'x', persistentPeers: [`${persistent}@127.0.0.1:26656`] })
    const book = new AddrBook({ strict: false })
    book.addAddress(new NetAddress(inBook, '10.0.3.1', 26656), new NetAddress(inBook, '10.0.3.1', 26656))
    const b = new NetAddress(banned, '10.0.3.2', 26656)
    book.addAddress(b, b)
    book.markBad(b, 60_000)
    const allow = allowList({ ids: [listed.toUpperCase()], switch: sw, book })
    expect([listed, persistent, inBook].map(allow)).toEqual([true, true, true])
    expect([banned, later, stranger].map(allow)).toEqual([false, false, false])
    book.addAddress(new NetAddress(later, '10.0.3.3', 26656), new NetAddress(later, '10.0.3.3', 26656))
    expect(allow(later)).toBe(true)
  })
})
