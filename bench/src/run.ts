/**
 * pnpm bench: every transport measured in this one run, on loopback TCP, both ends in this process
 * (so sealing and opening share the machine's cores). Prints one JSON line per measurement and run,
 * then a table of medians and of ratios to the raw-socket and js-libp2p baselines from this run.
 *
 *   node bench/dist/run.js [--runs 3] [--quick] [--only raw,mconn,secret,libp2p,aead,handshake,book,pex,cometbft,priority] [--aead sodium-native|node:crypto]
 */
import net from 'node:net'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { availableAeads, createAead, type AeadName } from '@switchyard/conn'
import { NodeKey, makeNodeInfo, upgradeToPeer } from '@switchyard/p2p'
import { kindName, link, type Kind } from './links.js'
import { pairThroughput } from './pair.js'
import { dialFromWorker } from './dialers.js'
import { bookBench, convergenceBench } from './pex.js'
import { interopAvailable, interopBench } from './interop.js'
import { priorityBench } from './priority.js'
import { bulk, echoRtt, median, messageRate } from './measures.js'

const args = process.argv.slice(2)
const arg = (name: string, dflt: string): string => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] ?? dflt : dflt }
const RUNS = Number(arg('--runs', '3'))
const QUICK = args.includes('--quick')
const ONLY = new Set(arg('--only', 'raw,mconn,secret,libp2p,aead,handshake,book,pex,cometbft,priority').split(','))
const MiB = 1024 * 1024
const aeads = availableAeads().filter(a => arg('--aead', a) === a)

interface Row { name: string, bulkMBs?: number, msgsPerSec?: number, pairBulkMBs?: number, pairMsgsPerSec?: number, rttP50us?: number, rttP99us?: number, other?: Record<string, number> }
const results = new Map<string, Row[]>()

function record (row: Row): void {
  console.log(JSON.stringify({ bench: row.name, ...row }))
  results.set(row.name, [...(results.get(row.name) ?? []), row])
}

async function linkMeasures (kind: Kind, bulkBytes: number, msgCount: number): Promise<void> {
  const name = kindName(kind)
  for (let run = 0; run < RUNS; run++) {
    let l = await link(kind)
    const b = await bulk(l, 64 * 1024, bulkBytes)
    await l.close()
    l = await link(kind)
    const m = await messageRate(l, 200, msgCount)
    await l.close()
    l = await link(kind)
    const r = await echoRtt(l, 100, QUICK ? 300 : 2000)
    await l.close()
    const pb = await pairThroughput(kind, 64 * 1024, bulkBytes)
    const pm = await pairThroughput(kind, 200, 200 * msgCount)
    record({
      name, bulkMBs: b.mbPerSec, msgsPerSec: m.msgsPerSec, rttP50us: r.p50us, rttP99us: r.p99us,
      pairBulkMBs: pb.mbPerSec, pairMsgsPerSec: msgCount / pm.seconds
    })
  }
}

function aeadCeiling (name: AeadName): void {
  const key = new Uint8Array(32).fill(1)
  const aead = createAead(key, name)
  const frame = Buffer.alloc(1028, 3)
  const out = Buffer.alloc(1044)
  const nonce = new Uint8Array(12)
  const plain = Buffer.alloc(1028)
  for (let run = 0; run < RUNS; run++) {
    const n = QUICK ? 20_000 : 100_000
    let t0 = performance.now()
    for (let i = 0; i < n; i++) { nonce[4] = i & 0xff; aead.seal(out, frame, nonce) }
    const seal = n * 1028 / ((performance.now() - t0) / 1000) / 1e6
    t0 = performance.now()
    for (let i = 0; i < n; i++) aead.open(plain, out, nonce)
    const open = n * 1028 / ((performance.now() - t0) / 1000) / 1e6
    record({ name: `aead ${name} (1028-byte frames)`, other: { sealMBs: seal, openMBs: open } })
  }
}

/**
 * Handshakes (SecretConnection + NodeInfo) per second accepted by one listener, 16 dialers at a
 * time: "same" with the dialers in this thread, "pair" with them in a worker thread.
 */
async function handshakeRate (): Promise<void> {
  const serverKey = NodeKey.generate()
  const info = (k: NodeKey): ReturnType<typeof makeNodeInfo> => makeNodeInfo({ nodeId: k.id, network: 'bench', listenAddr: 'tcp://127.0.0.1:1', moniker: 'b', channels: [0x60] })
  const serverInfo = info(serverKey)
  let accepted = 0
  const server = net.createServer(socket => {
    upgradeToPeer(socket, { nodeKey: serverKey, nodeInfo: serverInfo }).then(p => { accepted++; p.conn.destroy() }, () => {})
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  const clientKeys = Array.from({ length: 16 }, () => NodeKey.generate())
  for (let run = 0; run < RUNS; run++) {
    accepted = 0
    const deadline = performance.now() + (QUICK ? 500 : 2000)
    const t0 = performance.now()
    await Promise.all(clientKeys.map(async key => {
      const ci = info(key)
      while (performance.now() < deadline) {
        const s = net.connect(port, '127.0.0.1')
        await new Promise(resolve => s.once('connect', resolve))
        const p = await upgradeToPeer(s, { nodeKey: key, nodeInfo: ci })
        p.conn.destroy()
      }
    }))
    const seconds = (performance.now() - t0) / 1000
    const sameRate = accepted / seconds
    accepted = 0
    const t1 = performance.now()
    await dialFromWorker(port, 16, QUICK ? 500 : 2000)
    const pairRate = accepted / ((performance.now() - t1) / 1000)
    record({ name: 'handshakes accepted by one listener', other: { samePerSec: sameRate, pairPerSec: pairRate } })
  }
  server.close()
}

function fmt (x: number | undefined, digits = 0): string {
  return x === undefined ? '' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
}

async function main (): Promise<void> {
  const started = new Date()
  const bulkBytes = QUICK ? 32 * MiB : 256 * MiB
  const encBulk = QUICK ? 16 * MiB : 128 * MiB
  const msgCount = QUICK ? 50_000 : 300_000
  if (ONLY.has('aead')) for (const a of aeads) aeadCeiling(a)
  if (ONLY.has('raw')) await linkMeasures('raw', bulkBytes, msgCount)
  if (ONLY.has('mconn')) await linkMeasures('mconn', bulkBytes, msgCount)
  if (ONLY.has('secret')) for (const a of aeads) await linkMeasures(`secret:${a}`, encBulk, msgCount)
  if (ONLY.has('libp2p')) await linkMeasures('libp2p', encBulk, QUICK ? 20_000 : 100_000)
  if (ONLY.has('handshake')) await handshakeRate()
  if (ONLY.has('cometbft')) {
    if (!interopAvailable()) {
      console.log('(CometBFT comparison skipped: build interop/cometbft-peer with Go first)')
    } else {
      for (let run = 0; run < RUNS; run++) {
        for (const f of await interopBench(QUICK ? 100 : 1000, QUICK ? 20_000 : 100_000, QUICK ? 300 : 1000)) {
          record({ name: `vs CometBFT: ${f.pair}`, other: { bulkMBs: f.bulkMBs ?? NaN, msgsPerSec: f.msgsPerSec ?? NaN, rttP50us: f.rttP50us ?? NaN, rttP99us: f.rttP99us ?? NaN } })
        }
      }
    }
  }
  if (ONLY.has('priority')) {
    // Urgent messages and pings while a low-priority channel saturates the link (priority.ts).
    for (const s of await priorityBench({ runs: RUNS, warmupMs: 500, measureMs: QUICK ? 2000 : 5000, resultsDir: fileURLToPath(new URL('../results/', import.meta.url)) })) {
      record({ name: `priority under load → ${s.receiver}`, other: { urgentP99IdleMs: s.idleUrgentP99ms, urgentP99PacedMs: s.pacedUrgentP99ms, urgentP99UnpacedMs: s.unpacedUrgentP99ms, pingP99IdleMs: s.idlePingP99ms, pingP99PacedMs: s.pacedPingP99ms, pingP99UnpacedMs: s.unpacedPingP99ms, bulkPacedMBs: s.pacedBulkMBs, bulkUnpacedMBs: s.unpacedBulkMBs, senderLoopP99PacedMs: s.pacedSenderLoopP99ms, urgentVsIdle: s.urgentP99VsIdle, pingVsIdle: s.pingP99VsIdle, bulkVsUnpaced: s.bulkVsUnpaced, errors: s.errors } })
    }
  }
  if (ONLY.has('book')) {
    for (let run = 0; run < RUNS; run++) {
      const f = await bookBench(QUICK ? 5000 : 20_000)
      record({ name: `AddrBook with ${QUICK ? 5000 : 20_000} addresses`, other: { ...f } })
    }
  }
  if (ONLY.has('pex')) {
    for (let run = 0; run < RUNS; run++) {
      const c = await convergenceBench(QUICK ? 30 : 100)
      record({ name: `PEX convergence, ${c.nodes} nodes from one seed, outbound target ${c.target}`, other: { seconds: c.seconds } })
    }
  }

  const med = (name: string, f: (r: Row) => number | undefined): number | undefined => {
    const xs = (results.get(name) ?? []).map(f).filter((x): x is number => x !== undefined)
    return xs.length > 0 ? median(xs) : undefined
  }
  const raw = 'raw net socket'
  const lp = 'js-libp2p tcp+noise+yamux'
  console.log(`\nSwitchyard bench, ${started.toISOString()}, node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}; medians of ${RUNS} runs`)
  console.log('"same" = both ends in one thread; "pair" = receiver in a worker thread (its own core)\n')
  console.log('| transport | bulk MB/s same | ×raw | ×libp2p | bulk MB/s pair | ×raw | ×libp2p | 200-B msgs/s same | ×libp2p | 200-B msgs/s pair | RTT p50 µs | ×raw | RTT p99 µs |')
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const name of results.keys()) {
    const b = med(name, r => r.bulkMBs)
    if (b === undefined) continue
    const m = med(name, r => r.msgsPerSec)
    const p50 = med(name, r => r.rttP50us)
    const ratio = (x: number | undefined, y: number | undefined, d = 2): string => x !== undefined && y !== undefined ? fmt(x / y, d) : ''
    const pb = med(name, r => r.pairBulkMBs)
    console.log(`| ${name} | ${fmt(b)} | ${ratio(b, med(raw, r => r.bulkMBs))} | ${ratio(b, med(lp, r => r.bulkMBs))} | ${fmt(pb)} | ${ratio(pb, med(raw, r => r.pairBulkMBs))} | ${ratio(pb, med(lp, r => r.pairBulkMBs))} | ${fmt(m)} | ${ratio(m, med(lp, r => r.msgsPerSec))} | ${fmt(med(name, r => r.pairMsgsPerSec))} | ${fmt(p50)} | ${ratio(p50, med(raw, r => r.rttP50us))} | ${fmt(med(name, r => r.rttP99us))} |`)
  }
  for (const name of results.keys()) {
    const rows = results.get(name)!
    if (rows[0]?.other === undefined) continue
    const keys = Object.keys(rows[0].other)
    console.log(`| ${name} | ${keys.map(k => { const v = med(name, r => r.other?.[k]); return `${k} ${fmt(v, v !== undefined && Math.abs(v) < 10 ? 2 : 0)}` }).join(' · ')} |`)
  }
  process.exit(0)
}

main().catch(err => { console.error(err); process.exit(1) })
