import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AddrBook, PexReactor } from '@switchyard/pex'
import { TestNetwork, waitFor } from '@switchyard/testing'
import {
  SeedMetrics, chIdLabel, createLogger, init, loadConfig, messageTypeLabel, probe, runSeed, serveEndpoint,
  type MetricsLine, type RunningSeed
} from '@switchyard/cli'

/**
 * CometBFT's p2p metrics per line, from ../shared/style-and-ecosystem.md §5.9 and issue 20:
 * name → [type, label names]. v0.39 renamed peer_pending_send_bytes to peer_send_queue_size;
 * v1.0 dropped the per-peer byte counters. message_type values are Go type names
 * ("*p2p.PexAddrs" → "p2p_PexAddrs"; v1.0's protos live in Go package "v1").
 */
const COMETBFT: Record<string, { families: Record<string, [string, string[]]>, pex: string }> = {
  'v0.38': {
    families: {
      cometbft_p2p_peers: ['gauge', []],
      cometbft_p2p_peer_receive_bytes_total: ['counter', ['chID', 'peer_id']],
      cometbft_p2p_peer_send_bytes_total: ['counter', ['chID', 'peer_id']],
      cometbft_p2p_peer_pending_send_bytes: ['gauge', ['peer_id']],
      cometbft_p2p_message_receive_bytes_total: ['counter', ['message_type']],
      cometbft_p2p_message_send_bytes_total: ['counter', ['message_type']]
    },
    pex: 'p2p'
  },
  'v0.40': {
    families: {
      cometbft_p2p_peers: ['gauge', []],
      cometbft_p2p_peer_receive_bytes_total: ['counter', ['chID', 'peer_id']],
      cometbft_p2p_peer_send_bytes_total: ['counter', ['chID', 'peer_id']],
      cometbft_p2p_peer_send_queue_size: ['gauge', ['peer_id']],
      cometbft_p2p_message_receive_bytes_total: ['counter', ['message_type']],
      cometbft_p2p_message_send_bytes_total: ['counter', ['message_type']]
    },
    pex: 'p2p'
  },
  'v1.0': {
    families: {
      cometbft_p2p_peers: ['gauge', []],
      cometbft_p2p_peer_pending_send_bytes: ['gauge', ['peer_id']],
      cometbft_p2p_message_receive_bytes_total: ['counter', ['message_type']],
      cometbft_p2p_message_send_bytes_total: ['counter', ['message_type']]
    },
    pex: 'v1'
  }
}

interface Sample { name: string, labels: Record<string, string>, value: number }
interface Exposition { types: Map<string, string>, samples: Sample[] }

/** A small parser of the text format: enough to compare names, types, label names and values. */
function parse (text: string): Exposition {
  const types = new Map<string, string>()
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (t !== null) { types.set(t[1]!, t[2]!); continue }
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) throw new Error(`unparsable sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!
    samples.push({ name: m[1]!, labels, value: Number(m[3]) })
  }
  return { types, samples }
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'swy-metrics-'))

async function freePort (): Promise<number> {
  const s = net.createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as net.AddressInfo).port
  await new Promise(resolve => s.close(resolve))
  return port
}

let nodes: TestNetwork
let seed: RunningSeed
let mport: number
const source = (line: MetricsLine): ConstructorParameters<typeof SeedMetrics>[0] =>
  ({ namespace: 'cometbft', line, sw: seed.sw, book: seed.book, pex: seed.pex, counters: { handshakes: new Map(), rejections: new Map() }, started: Date.now() })

describe('metrics: CometBFT names and label values, process metrics, handshake histogram', () => {
  beforeAll(async () => {
    const books: AddrBook[] = []
    nodes = await TestNetwork.start({
      size: 2,
      network: 'metrics-chain',
      ip: i => `127.0.76.${i + 1}`,
      switchOptions: i => { books[i] = new AddrBook({ strict: false }); return { addressBook: books[i] } },
      reactors: i => ({ pex: new PexReactor({ book: books[i]!, ensurePeersPeriod: 3_600_000, startJitter: false }) })
    })
    const home = tmp()
    await init({ home, chainId: 'metrics-chain' })
    mport = await freePort()
    // The seed crawls its bootstrap peers: two outbound peers that stay connected, PEX both ways.
    const cfg = loadConfig(home, {
      'p2p.laddr': 'tcp://127.0.76.10:0',
      'p2p.addr_book_strict': 'false',
      'p2p.bootstrap_peers': nodes.nodes.map(n => n.address).join(','),
      'metrics.laddr': `:${mport}`
    })
    seed = await runSeed(cfg, createLogger('plain', 'error', () => {}))
    await waitFor(() => seed.sw.peers.size === 2 && seed.pex.stats.addrsReceived >= 0 && seed.pex.stats.requestsSent >= 2, { timeoutMs: 20_000, what: 'the seed to crawl both nodes' })
    // An inbound PexRequest too (the seed answers with PexAddrs and hangs up).
    const p = await probe(seed.address, { pex: true, timeout: 5000 })
    expect(p.ok).toBe(true)
    await waitFor(() => seed.sw.messageBytes.received.has('p2p.PexAddrs') && seed.sw.messageBytes.received.has('p2p.PexRequest'), { timeoutMs: 10_000, what: 'PEX messages both ways' })
    await waitFor(() => seed.sw.peers.size === 2, { timeoutMs: 10_000, what: 'the probe to be let go' })
  }, 60_000)

  afterAll(async () => {
    await seed?.stop()
    await nodes?.stop()
  })

  it('label values are written as CometBFT writes them', () => {
    expect([0x00, 0x20, 0x38, 0x60, 0xff].map(chIdLabel)).toEqual(['0x0', '0x20', '0x38', '0x60', '0xff'])
    expect(messageTypeLabel('p2p.PexAddrs', 'v0.38')).toBe('p2p_PexAddrs')
    expect(messageTypeLabel('consensus.NewRoundStep', 'v0.40')).toBe('consensus_NewRoundStep')
    expect(messageTypeLabel('p2p.PexRequest', 'v1.0')).toBe('v1_PexRequest')
  })

  for (const line of Object.keys(COMETBFT) as MetricsLine[]) {
    it(`line ${line}: exactly CometBFT's p2p families, types, label names and label values, with peers connected`, async () => {
      const want = COMETBFT[line]!
      const x = parse(await new SeedMetrics(source(line), { processMetrics: false }).render())
      const ours = [...x.types.keys()].filter(n => n.startsWith('cometbft_')).sort()
      expect(ours).toEqual(Object.keys(want.families).sort())
      for (const [name, [type, labels]] of Object.entries(want.families)) {
        expect(x.types.get(name), name).toBe(type)
        const samples = x.samples.filter(s => s.name === name)
        expect(samples.length, `${name} has samples`).toBeGreaterThan(0)
        for (const s of samples) expect(Object.keys(s.labels).sort(), name).toEqual(labels)
      }
      const peerIds = nodes.nodes.map(n => n.id).sort()
      expect([...seed.sw.peers.keys()].sort()).toEqual(peerIds)
      expect(x.samples.find(s => s.name === 'cometbft_p2p_peers')!.value).toBe(2)
      if ('cometbft_p2p_peer_send_bytes_total' in want.families) {
        const sent = x.samples.filter(s => s.name === 'cometbft_p2p_peer_send_bytes_total')
        expect(sent.map(s => s.labels.chID)).toEqual(['0x0', '0x0']) // the PEX channel, as Go's %#x
        expect(sent.map(s => s.labels.peer_id).sort()).toEqual(peerIds)
        for (const s of sent) expect(s.value).toBeGreaterThan(0)
      }
      const types = (n: string): string[] => x.samples.filter(s => s.name === n).map(s => s.labels.message_type!).sort()
      expect(types('cometbft_p2p_message_receive_bytes_total')).toEqual([`${want.pex}_PexAddrs`, `${want.pex}_PexRequest`])
      expect(types('cometbft_p2p_message_send_bytes_total')).toEqual([`${want.pex}_PexAddrs`, `${want.pex}_PexRequest`])
    })
  }

  it('the live /metrics (default line v0.40) has process metrics and a handshake-duration histogram', async () => {
    const res = await fetch(`http://127.0.0.1:${mport}/metrics`)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const x = parse(await res.text())
    expect(x.types.has('cometbft_p2p_peer_send_queue_size')).toBe(true)
    for (const [name, type] of [['process_cpu_seconds_total', 'counter'], ['process_resident_memory_bytes', 'gauge'], ['nodejs_eventloop_lag_seconds', 'gauge'], ['nodejs_heap_size_used_bytes', 'gauge']]) {
      expect(x.types.get(name!), name).toBe(type)
    }
    expect(x.types.get('switchyard_p2p_handshake_duration_seconds')).toBe('histogram')
    const count = x.samples.find(s => s.name === 'switchyard_p2p_handshake_duration_seconds_count' && s.labels.direction === 'outbound' && s.labels.result === 'ok')
    expect(count?.value).toBeGreaterThanOrEqual(2)
    const inf = x.samples.find(s => s.name === 'switchyard_p2p_handshake_duration_seconds_bucket' && s.labels.direction === 'outbound' && s.labels.result === 'ok' && s.labels.le === '+Inf')
    expect(inf?.value).toBe(count?.value)
    const inbound = x.samples.find(s => s.name === 'switchyard_p2p_handshake_duration_seconds_count' && s.labels.direction === 'inbound' && s.labels.result === 'ok')
    expect(inbound?.value).toBeGreaterThanOrEqual(1) // the probe
  })

  it('other components register their counters into the same registry (read at each scrape)', async () => {
    const m = new SeedMetrics(source('v0.40'), { processMetrics: false })
    const stats = { refused: 0 }
    m.addCounter('switchyard_example_refusals_total', 'Example.', () => [[{ reason: 'full' }, stats.refused]], ['reason'])
    stats.refused = 3
    expect(await m.render()).toContain('switchyard_example_refusals_total{reason="full"} 3')
  })

  it('promtool check metrics: the live /metrics with peers connected is clean but for CometBFT\'s camelCase chID label', async (ctx) => {
    const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find(p => existsSync(p))
    if (promtool === undefined) {
      if (process.env.CI === 'true') throw new Error('CI=true but promtool is not installed (.ci/run installs Debian\'s prometheus)')
      console.warn('promtool is not installed: skipping the lint of /metrics (apt-get install prometheus to run it)')
      ctx.skip()
      return
    }
    expect(seed.sw.peers.size).toBe(2)
    const text = await (await fetch(`http://127.0.0.1:${mport}/metrics`)).text()
    expect(text).toContain('chID="0x0"')
    const lint = (input: string): { status: number | null, findings: string[] } => {
      const r = spawnSync(promtool, ['check', 'metrics'], { input, encoding: 'utf8' })
      return { status: r.status, findings: (r.stdout + r.stderr).split('\n').filter(l => l !== '') }
    }
    // promtool's only objection is the label CometBFT chose (dashboards need it as it is):
    // exit 3 = lint findings (1 would be a format error).
    const live = lint(text)
    expect(live.status).toBe(3)
    expect(live.findings.length).toBeGreaterThan(0)
    for (const f of live.findings) expect(f).toMatch(/^cometbft_p2p_peer_(receive|send)_bytes_total label names should be written in 'snake_case' not 'camelCase'$/)
    // With that one label renamed, nothing is left to lint.
    expect(lint(text.replaceAll('chID="', 'ch_id="'))).toEqual({ status: 0, findings: [] })
    // The v1.0 names have no chID at all: clean as they are.
    expect(lint(await new SeedMetrics(source('v1.0')).render())).toEqual({ status: 0, findings: [] })
  })

  it('the endpoint listens on 127.0.0.1 when no host is given, and serves /net_info there', async () => {
    const info = await (await fetch(`http://127.0.0.1:${mport}/net_info`)).json() as { n_peers: number }
    expect(info.n_peers).toBe(2)
  })

  it('idle sockets cannot hold the HTTP endpoint: 40 silent connections, then a scrape still succeeds', async () => {
    const idle: net.Socket[] = []
    const closed: Array<Promise<void>> = []
    for (let i = 0; i < 40; i++) {
      const s = net.connect(mport, '127.0.0.1')
      s.on('error', () => {})
      closed.push(new Promise(resolve => s.once('close', () => resolve())))
      idle.push(s)
    }
    try {
      // The server closes silent sockets after its 5 s header/idle timeouts (the wait allows for a
      // loaded machine; without them Node holds such sockets 60 s and more) ...
      await waitFor(() => idle.every(s => s.destroyed), { timeoutMs: 40_000, what: 'the server to close the idle sockets' })
      await Promise.all(closed)
      // ... and answers a scrape afterwards.
      const res = await fetch(`http://127.0.0.1:${mport}/health`)
      expect(res.status).toBe(200)
    } finally {
      for (const s of idle) s.destroy()
    }
  }, 60_000)

  it('/net_info is served on loopback listeners by default, elsewhere only when turned on; off is a 404', async () => {
    const m = new SeedMetrics(source('v0.40'), { processMetrics: false })
    const port = await freePort()
    const server = await serveEndpoint('127.0.0.1', port, { metrics: m, state: () => 'running' })
    try {
      const res = await fetch(`http://127.0.0.1:${port}/net_info`)
      expect(res.status).toBe(404)
      expect(await res.text()).toBe('not found: try /metrics or /health\n')
    } finally {
      server.close()
    }
    const { netInfoServed } = await import('@switchyard/cli')
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].map(h => netInfoServed('auto', h))).toEqual([true, true, true, true])
    expect(['0.0.0.0', '10.0.0.1', '::', '', 'example.com'].map(h => netInfoServed('auto', h))).toEqual([false, false, false, false, false])
    expect(netInfoServed('on', '0.0.0.0')).toBe(true)
    expect(netInfoServed('off', '127.0.0.1')).toBe(false)
  })
})
