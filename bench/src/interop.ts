/**
 * Against CometBFT itself (interop/cometbft-peer, built from CometBFT's own packages), in one run,
 * encrypted, rate limits lifted: throughput of 64 KiB and 200-byte messages and 100-byte echo RTT
 * for Go↔Go, Switchyard→Go, Go→Switchyard and Switchyard↔Switchyard.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MConnection, defaultAead } from '@switchyard/conn'
import { NodeKey, makeNodeInfo, upgradeToPeer } from '@switchyard/p2p'
import { link } from './links.js'
import { bulk, echoRtt, messageRate } from './measures.js'

const binary = fileURLToPath(new URL('../../interop/cometbft-peer/bin/cometbft-peer', import.meta.url))
const ECHO = 0x7e
// -log-debug=false: CometBFT's per-packet debug lines, formatted, were the harness's bottleneck (pprof).
const LIFTED = ['-send-rate', '1000000000000', '-recv-rate', '1000000000000', '-flush-throttle', '10ms', '-echo-channel', String(ECHO), '-chain-id', 'bench', '-log-debug=false']
const channels = [{ id: ECHO, priority: 1, sendQueueCapacity: 256, recvMessageCapacity: 22020096 }]

export function interopAvailable (): boolean { return existsSync(binary) }

interface Go { proc: ChildProcess, id: string, addr: string, port: number, wait: (event: string) => Promise<Record<string, any>> }

async function startGo (args: string[]): Promise<Go> {
  const home = mkdtempSync(join(tmpdir(), 'cmtbench-'))
  const proc = spawn(binary, ['-node-key', join(home, 'nk.json'), '-addrbook', join(home, 'ab.json'), ...LIFTED, ...args], { stdio: ['ignore', 'pipe', 'ignore'] })
  const events: Array<Record<string, any>> = []
  const waiters: Array<{ event: string, resolve: (e: Record<string, any>) => void }> = []
  let buf = ''
  proc.stdout!.setEncoding('utf8').on('data', (t: string) => {
    buf += t
    const lines = buf.split('\n')
    buf = lines.pop()!
    for (const l of lines) {
      let e: Record<string, any>
      try { e = JSON.parse(l) } catch { continue }
      events.push(e)
      for (const w of waiters.filter(x => x.event === e.event)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(e) }
    }
  })
  const wait = async (event: string): Promise<Record<string, any>> => {
    const seen = events.find(e => e.event === event)
    if (seen !== undefined) return seen
    return await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`Go peer: no ${event}`)), 120_000)
      waiters.push({ event, resolve: e => { clearTimeout(t); resolve(e) } })
    })
  }
  const l = await wait('listening')
  return { proc, id: l.id, addr: l.addr, port: Number(String(l.addr).split(':').pop()), wait }
}

async function stopGo (g: Go): Promise<void> {
  g.proc.kill('SIGKILL')
  await new Promise(resolve => g.proc.once('exit', resolve))
}

async function dialGo (g: Go): Promise<MConnection> {
  const key = NodeKey.generate()
  const s = net.connect(g.port, '127.0.0.1')
  await new Promise(resolve => s.once('connect', resolve))
  s.setNoDelay(true)
  const p = await upgradeToPeer(s, { nodeKey: key, nodeInfo: makeNodeInfo({ nodeId: key.id, network: 'bench', listenAddr: 'tcp://127.0.0.1:1', moniker: 'swy', channels: [ECHO] }), expectedPeerId: g.id })
  const m = new MConnection(p.conn, { channels })
  m.on('message', () => {})
  return m
}

export interface InteropFigures { pair: string, bulkMBs?: number, msgsPerSec?: number, rttP50us?: number, rttP99us?: number }

export async function interopBench (bulkCount: number, smallCount: number, rttCount: number): Promise<InteropFigures[]> {
  const out: InteropFigures[] = []

  // Go → Go
  {
    const r: InteropFigures = { pair: 'CometBFT → CometBFT' }
    for (const [size, count] of [[65536, bulkCount], [200, smallCount]] as const) {
      const sink = await startGo(['-sink', '-sink-expect', String(count)])
      const blaster = await startGo(['-blast', sink.addr, '-blast-size', String(size), '-blast-count', String(count)])
      const done = await sink.wait('sink_done')
      if (size === 65536) r.bulkMBs = done.bytes / done.seconds / 1e6
      else r.msgsPerSec = done.messages / done.seconds
      await Promise.all([stopGo(sink), stopGo(blaster)])
    }
    const echo = await startGo([])
    const pinger = await startGo(['-blast', echo.addr, '-blast-size', '100', '-rtt-count', String(rttCount)])
    const rtt = await pinger.wait('rtt_done')
    r.rttP50us = rtt.p50_us
    r.rttP99us = rtt.p99_us
    await Promise.all([stopGo(echo), stopGo(pinger)])
    out.push(r)
  }

  // Switchyard → Go (and the echo RTT against Go)
  {
    const r: InteropFigures = { pair: 'Switchyard → CometBFT' }
    for (const [size, count] of [[65536, bulkCount], [200, smallCount]] as const) {
      const sink = await startGo(['-sink', '-sink-expect', String(count)])
      const m = await dialGo(sink)
      const msg = new Uint8Array(size)
      for (let i = 0; i < count; i++) if (!m.trySend(ECHO, msg)) await m.send(ECHO, msg, { timeout: 60_000 })
      const done = await sink.wait('sink_done')
      if (size === 65536) r.bulkMBs = done.bytes / done.seconds / 1e6
      else r.msgsPerSec = done.messages / done.seconds
      m.close()
      await stopGo(sink)
    }
    const echo = await startGo([])
    const m = await dialGo(echo)
    m.removeAllListeners('message')
    const rtt = await echoRtt({
      a: { send: d => m.trySend(ECHO, d), drained: async () => {}, onReceive: cb => { m.on('message', (_c, d) => cb(d)) }, close: async () => { m.close() } },
      b: { send: () => true, drained: async () => {}, onReceive: () => {}, close: async () => {} },
      close: async () => { m.close() }
    }, 100, rttCount)
    r.rttP50us = rtt.p50us
    r.rttP99us = rtt.p99us
    m.close()
    await stopGo(echo)
    out.push(r)
  }

  // Go → Switchyard
  {
    const r: InteropFigures = { pair: 'CometBFT → Switchyard' }
    for (const [size, count] of [[65536, bulkCount], [200, smallCount]] as const) {
      const key = NodeKey.generate()
      const server = net.createServer()
      await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
      const port = (server.address() as net.AddressInfo).port
      const result = new Promise<{ bytes: number, seconds: number, messages: number }>(resolve => {
        server.once('connection', s => {
          s.setNoDelay(true)
          void upgradeToPeer(s, { nodeKey: key, nodeInfo: makeNodeInfo({ nodeId: key.id, network: 'bench', listenAddr: `tcp://127.0.0.1:${port}`, moniker: 'swy', channels: [ECHO] }) }).then(p => {
            const m = new MConnection(p.conn, { channels })
            let n = 0
            let bytes = 0
            let first = 0
            m.on('message', (_c, d) => {
              if (n === 0) first = performance.now()
              n++
              bytes += d.length
              if (n === count) { resolve({ bytes, messages: n, seconds: (performance.now() - first) / 1000 }); m.close() }
            })
          })
        })
      })
      const blaster = await startGo(['-blast', `${key.id}@127.0.0.1:${port}`, '-blast-size', String(size), '-blast-count', String(count)])
      const done = await result
      if (size === 65536) r.bulkMBs = done.bytes / done.seconds / 1e6
      else r.msgsPerSec = done.messages / done.seconds
      server.close()
      await stopGo(blaster)
    }
    out.push(r)
  }

  // Switchyard ↔ Switchyard, same conditions (encrypted, no limits), same run
  {
    let l = await link(`secret:${defaultAead}`)
    const b = await bulk(l, 65536, bulkCount * 65536)
    await l.close()
    l = await link(`secret:${defaultAead}`)
    const m = await messageRate(l, 200, smallCount)
    await l.close()
    l = await link(`secret:${defaultAead}`)
    const rtt = await echoRtt(l, 100, rttCount)
    await l.close()
    out.push({ pair: 'Switchyard ↔ Switchyard', bulkMBs: b.mbPerSec, msgsPerSec: m.msgsPerSec, rttP50us: rtt.p50us, rttP99us: rtt.p99us })
  }
  return out
}
