/**
 * PEX figures: an AddrBook of 20,000 addresses (adds/s, PickAddress/s, selection time, save and
 * load time, file size), and convergence: 100 in-process nodes that know only one seed, seconds
 * until every node has its outbound target.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NetAddress } from '@switchyard/p2p'
import { AddrBook, PexReactor } from '@switchyard/pex'
import { TestNetwork, waitFor } from '@switchyard/testing'

export interface BookFigures { addsPerSec: number, picksPerSec: number, selectionMs: number, saveMs: number, loadMs: number, fileBytes: number, size: number }

export async function bookBench (n = 20_000): Promise<BookFigures> {
  const path = join(mkdtempSync(join(tmpdir(), 'swy-bench-book-')), 'addrbook.json')
  const book = new AddrBook({ filePath: path })
  const addrs = Array.from({ length: n }, (_, i) => new NetAddress(randomBytes(20).toString('hex'), `${1 + (i % 200)}.${(i >> 8) & 255}.${i & 255}.${1 + (i % 250)}`, 26656))
  const srcs = Array.from({ length: 500 }, (_, i) => new NetAddress(randomBytes(20).toString('hex'), `${1 + (i % 220)}.${i % 250}.1.1`, 26656))
  let t0 = performance.now()
  for (let i = 0; i < n; i++) book.addAddress(addrs[i]!, srcs[i % srcs.length]!)
  const addsPerSec = n / ((performance.now() - t0) / 1000)
  for (let i = 0; i < n; i += 4) book.markGood(addrs[i]!)
  t0 = performance.now()
  for (let i = 0; i < 100_000; i++) book.pickAddress(50)
  const picksPerSec = 100_000 / ((performance.now() - t0) / 1000)
  t0 = performance.now()
  for (let i = 0; i < 100; i++) book.getSelectionWithBias(30)
  const selectionMs = (performance.now() - t0) / 100
  t0 = performance.now()
  await book.save()
  const saveMs = performance.now() - t0
  t0 = performance.now()
  const loaded = await AddrBook.load(path)
  const loadMs = performance.now() - t0
  return { addsPerSec, picksPerSec, selectionMs, saveMs, loadMs, fileBytes: statSync(path).size, size: loaded.size }
}

export async function convergenceBench (nodes = 100, target = 4): Promise<{ seconds: number, nodes: number, target: number }> {
  const seedNet = await TestNetwork.start({
    size: 1,
    switchOptions: () => ({ addressBook: seedBook, maxInboundPeers: 1000 }),
    reactors: () => ({ pex: new PexReactor({ book: seedBook, seedMode: true, crawlPeriod: 60_000 }) })
  })
  const books: AddrBook[] = []
  const t0 = performance.now()
  const net = await TestNetwork.start({
    size: nodes,
    switchOptions: i => { books[i] = new AddrBook({ strict: false }); return { addressBook: books[i], maxOutboundPeers: target } },
    reactors: i => ({ pex: new PexReactor({ book: books[i]!, seeds: [seedNet.node(0).address], ensurePeersPeriod: 500, startJitter: false, dialBackoffUnit: 100 }) })
  })
  await waitFor(() => net.nodes.every(n => n.switch.numPeers().outbound >= target), { timeoutMs: 120_000, what: 'convergence' })
  const seconds = (performance.now() - t0) / 1000
  await net.stop()
  await seedNet.stop()
  return { seconds, nodes, target }
}

const seedBook = new AddrBook({ strict: false })
