import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AddrBook, PexReactor } from '@switchyard/pex'
import { NodeKey, Switch } from '@switchyard/p2p'
import { TestNetwork, waitFor } from '@switchyard/testing'
import { readVector } from '../../../test/vectors.js'
import { collectLines } from './child-lines.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const cli = `${root}packages/switchyard/dist/cli.js`
const gen = readVector('cometbft/generated-v0.37.18.json')

class Run {
  readonly out: string[] = []
  readonly err: string[] = []
  readonly proc: ChildProcess
  readonly exit: Promise<number | null>
  constructor (args: string[], cwd?: string) {
    this.proc = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd, env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'CMTHOME')) })
    collectLines(this.proc.stdout!, this.out)
    collectLines(this.proc.stderr!, this.err)
    this.exit = new Promise(resolve => this.proc.once('exit', code => resolve(code)))
  }

  async line (pred: (l: string) => boolean, what: string, timeoutMs = 10_000): Promise<string> {
    await waitFor(() => this.out.some(pred), { timeoutMs, what: `${what} (stdout: ${JSON.stringify(this.out)}, stderr: ${JSON.stringify(this.err.slice(-5))})` })
    return this.out.find(pred)!
  }

  async address (): Promise<string> {
    return (await this.line(l => l.startsWith('address: '), 'the address')).slice('address: '.length)
  }
}

const runs: Run[] = []
const nets: TestNetwork[] = []
afterEach(async () => {
  for (const r of runs.splice(0)) if (r.proc.exitCode === null) r.proc.kill('SIGKILL')
  await Promise.all(nets.splice(0).map(async n => { await n.stop() }))
})

function start (args: string[], cwd?: string): Run {
  const r = new Run(args, cwd)
  runs.push(r)
  return r
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'swy-cli-'))

async function metrics (port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const m = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue
    const sp = line.lastIndexOf(' ')
    m.set(line.slice(0, sp), Number(line.slice(sp + 1)))
  }
  return m
}

async function freePort (): Promise<number> {
  const s = net.createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as net.AddressInfo).port
  await new Promise(resolve => s.close(resolve))
  return port
}

describe('switchyard CLI', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', `${root}packages/switchyard`], { stdio: 'inherit' })
  }, 120_000)

  it('init, then seed: two nodes learn each other through it; metrics, health; SIGTERM saves the book and exits 0', async () => {
    const home = tmp()
    const initRun = start(['init', '--home', home, '--chain-id', 'cli-chain', '--moniker', 'my-seed'])
    expect(await initRun.exit).toBe(0)
    const id = (await initRun.line(l => l.startsWith('node ID: '), 'init output')).slice(9)
    expect(readFileSync(join(home, 'config', 'config.toml'), 'utf8')).toMatch(/\[p2p\][\s\S]*laddr = "tcp:\/\/0\.0\.0\.0:26656"/)
    // init refuses to overwrite.
    const again = start(['init', '--home', home])
    expect(await again.exit).toBe(3)
    expect(again.err.join('\n')).toMatch(/already exists/)

    const show = start(['show-node-id', '--home', home])
    expect(await show.exit).toBe(0)
    expect(show.out).toEqual([id])

    const mport = await freePort()
    const seed = start(['seed', '--home', home, '--p2p.laddr', 'tcp://127.0.70.1:0', '--p2p.addr_book_strict', 'false', '--metrics.laddr', `127.0.0.1:${mport}`])
    const address = await seed.address()
    expect(address).toMatch(new RegExp(`^${id}@127\\.0\\.70\\.1:\\d+$`))
    const health = await fetch(`http://127.0.0.1:${mport}/health`)
    expect(health.status).toBe(200)

    const books: AddrBook[] = []
    const nodes = await TestNetwork.start({
      size: 2,
      network: 'cli-chain',
      switchOptions: i => { books[i] = new AddrBook({ strict: false }); return { addressBook: books[i] } },
      // The seed dials them back to verify them and, as any CometBFT node, accepts one request per
      // 10 s from a peer it dialed: they must not ask it more often than that.
      reactors: i => ({ pex: new PexReactor({ book: books[i]!, seeds: [address], ensurePeersPeriod: 300, minReceiveRequestInterval: 10_000, startJitter: false }) })
    })
    nets.push(nodes)
    await waitFor(() => nodes.node(0).switch.peers.has(nodes.node(1).id) && nodes.node(1).switch.peers.has(nodes.node(0).id), { timeoutMs: 15_000, what: 'the nodes to meet through the seed' })

    let m = await metrics(mport)
    // The seed dials both nodes itself once they hang up (verification); wait for the second.
    for (let i = 0; i < 200 && (m.get('switchyard_seed_addresses{state="fresh"}') ?? 0) < 2; i++) {
      await new Promise(resolve => setTimeout(resolve, 50))
      m = await metrics(mport)
    }
    expect(m.get('switchyard_pex_requests_served_total')).toBeGreaterThanOrEqual(1)
    // The seed served the nodes to each other only after dialing them itself: verified, so "old".
    expect(m.get('switchyard_addrbook_size{bucket_type="old"}')).toBeGreaterThanOrEqual(2)
    expect(m.get('switchyard_seed_addresses{state="fresh"}')).toBeGreaterThanOrEqual(2)
    expect(m.get('switchyard_pex_addresses_served_total')).toBeGreaterThanOrEqual(1)
    expect(m.get('switchyard_p2p_handshakes_total{result="ok"}')).toBeGreaterThanOrEqual(2)
    expect(m.has('cometbft_p2p_peers')).toBe(true)
    // A node on another chain is refused, and /net_info counts it in the crawl report's vocabulary.
    const { probe } = await import('@switchyard/cli')
    const stranger = await probe(address, { chainId: 'other-chain' })
    expect(stranger).toMatchObject({ ok: false, reason: 'wrong-network' })
    let info: { node_id: string, network: string, refusals_by_reason: Record<string, number> } | undefined
    for (let i = 0; i < 100 && (info?.refusals_by_reason['wrong-network'] ?? 0) < 1; i++) {
      info = await (await fetch(`http://127.0.0.1:${mport}/net_info`)).json() as typeof info
    }
    expect(info).toMatchObject({ node_id: id, network: 'cli-chain', refusals_by_reason: { 'wrong-network': 1 } })
    expect((info as unknown as { verification: unknown }).verification).toMatchObject({ serve_verified_only: true, window_s: 3600, age_s: { newest: expect.any(Number) } })

    seed.proc.kill('SIGTERM')
    expect(await seed.exit).toBe(0)
    const saved = await AddrBook.load(join(home, 'config', 'addrbook.json'))
    expect(saved.has(nodes.node(0).id) && saved.has(nodes.node(1).id)).toBe(true)
    expect(seed.err.join('\n')).toMatch(/INFO  stopped saved=/)
  }, 60_000)

  it('runs a CometBFT home folder unchanged (config.toml with other sections, node_key.json, genesis.json)', async () => {
    const home = tmp()
    mkdirSync(join(home, 'config'))
    writeFileSync(join(home, 'config', 'node_key.json'), gen.node_key_json)
    writeFileSync(join(home, 'config', 'genesis.json'), JSON.stringify({
      genesis_time: '2024-01-01T00:00:00Z', chain_id: 'cosmoshub-test', initial_height: '1',
      consensus_params: { block: { max_bytes: '22020096', max_gas: '-1' } }, validators: [], app_hash: '', app_state: {}
    }, null, 2))
    writeFileSync(join(home, 'config', 'config.toml'), `# This is a TOML config file.
proxy_app = "tcp://127.0.0.1:26658"
moniker = "cmt-home"
db_backend = "goleveldb"
log_level = "info"
log_format = "plain"
genesis_file = "config/genesis.json"
node_key_file = "config/node_key.json"

[rpc]
laddr = "tcp://127.0.0.1:26657"
cors_allowed_origins = []

[p2p]
laddr = "tcp://127.0.71.1:0"
external_address = ""
seeds = ""
persistent_peers = ""
addr_book_file = "config/addrbook.json"
addr_book_strict = false
max_num_inbound_peers = 40
max_num_outbound_peers = 10
unconditional_peer_ids = ""
persistent_peers_max_dial_period = "0s"
flush_throttle_timeout = "100ms"
max_packet_msg_payload_size = 1024
send_rate = 5120000
recv_rate = 5120000
pex = true
seed_mode = true
private_peer_ids = ""
allow_duplicate_ip = false
handshake_timeout = "20s"
dial_timeout = "3s"

[mempool]
type = "flood"
size = 5000

[consensus]
timeout_propose = "3s"

[instrumentation]
prometheus = false
prometheus_listen_addr = ":26660"
namespace = "cometbft"
`)
    const bootstrap = 'f5dc14caa97f130df9d790a1f3f3d8fa7e62feef@8.8.4.4:26656'
    const seed = start(['seed', '--home', home, '--log-format', 'json', '--p2p.bootstrap_peers', bootstrap])
    expect(await seed.address()).toMatch(new RegExp(`^${gen.node_key_json_id}@127\\.0\\.71\\.1:\\d+$`))
    await waitFor(() => seed.err.some(l => l.includes('"network":"cosmoshub-test"')), { what: 'the chain id from genesis.json' })
    // --log-format json: every log line is one JSON object with ts, level and msg.
    for (const l of seed.err) expect(JSON.parse(l)).toMatchObject({ ts: expect.any(String), level: expect.any(String), msg: expect.any(String) })
    seed.proc.kill('SIGINT')
    expect(await seed.exit).toBe(0)
    // bootstrap_peers went into the address book (not dialed as seeds, not kept as persistent peers).
    const book = await AddrBook.load(join(home, 'config', 'addrbook.json'))
    expect(book.has('f5dc14caa97f130df9d790a1f3f3d8fa7e62feef')).toBe(true)
  }, 30_000)

  const broken: Array<[string, (home: string) => void, number, RegExp]> = [
    ['invalid TOML', h => writeFileSync(join(h, 'config', 'config.toml'), '[p2p\nladdr = 1'), 3, /config\.toml: line \d+/],
    ['a key of the wrong type', h => writeFileSync(join(h, 'config', 'config.toml'), '[p2p]\nmax_num_inbound_peers = "many"\n'), 3, /\[p2p\] max_num_inbound_peers: expected a non-negative integer/],
    ['a bad duration', h => writeFileSync(join(h, 'config', 'config.toml'), '[p2p]\ndial_timeout = "soon"\n'), 3, /\[p2p\] dial_timeout: "soon" is not a duration/],
    ['a corrupt node key', h => writeFileSync(join(h, 'config', 'node_key.json'), '{"priv_key": {"type": "tendermint/PrivKeyEd25519", "value": "AAAA"}}'), 4, /node_key\.json: priv_key\.value holds 3 bytes/],
    ['a missing node key', h => writeFileSync(join(h, 'config', 'config.toml'), 'node_key_file = "config/elsewhere.json"\n[p2p]\nladdr = "tcp://127.0.0.1:0"\n'), 4, /elsewhere\.json: cannot read \(ENOENT\)/]
  ]
  for (const [what, breakIt, code, message] of broken) {
    it(`exits ${code} with one clear line on ${what}`, async () => {
      const home = tmp()
      expect(await start(['init', '--home', home]).exit).toBe(0)
      breakIt(home)
      const r = start(['seed', '--home', home, '--p2p.laddr', 'tcp://127.0.72.1:0'])
      expect(await r.exit).toBe(code)
      expect(r.err).toHaveLength(1)
      expect(r.err[0]).toMatch(message)
    })
  }

  it('exits 5 naming the address when the port is in use', async () => {
    const blocker = net.createServer()
    await new Promise<void>(resolve => blocker.listen(0, '127.0.73.1', resolve))
    const port = (blocker.address() as net.AddressInfo).port
    try {
      const home = tmp()
      expect(await start(['init', '--home', home]).exit).toBe(0)
      const r = start(['seed', '--home', home, '--p2p.laddr', `tcp://127.0.73.1:${port}`])
      expect(await r.exit).toBe(5)
      expect(r.err).toEqual([`switchyard: p2p.laddr 127.0.73.1:${port} is already in use`])
    } finally {
      blocker.close()
    }
  })

  it('exits 2 on a usage error and prints help with --help', async () => {
    const bad = start(['frobnicate'])
    expect(await bad.exit).toBe(2)
    expect(bad.err[0]).toMatch(/unknown command "frobnicate"/)
    const help = start(['--help'])
    expect(await help.exit).toBe(0)
    expect(help.out.join('\n')).toMatch(/exit codes: 0 ok/)
    const unknownFlag = start(['seed', '--home', tmp(), '--p2p.no_such_key', '1'])
    expect(await unknownFlag.exit).toBe(2)
    expect(unknownFlag.err[0]).toBe('switchyard: seed: unknown flag --p2p.no_such_key')
  })

  it('two seeds on one LAN find each other by multicast (--p2p.lan_discovery), counted in /metrics', async () => {
    const lanPort = 19100 + (process.pid % 500)
    const mport = await freePort()
    const seeds = await Promise.all([1, 2].map(async i => {
      const home = tmp()
      expect(await start(['init', '--home', home, '--chain-id', 'lan-chain']).exit).toBe(0)
      return start(['seed', '--home', home, '--p2p.laddr', `tcp://127.0.74.${i}:0`, '--p2p.lan_discovery', 'multicast',
        '--p2p.lan_discovery_port', String(lanPort), '--p2p.lan_discovery_interface', '127.0.0.1', '--p2p.lan_discovery_interval', '200ms',
        ...(i === 1 ? ['--metrics.laddr', `127.0.0.1:${mport}`] : [])])
    }))
    const ids = await Promise.all(seeds.map(async s => (await s.address()).split('@')[0]!))
    for (const [i, s] of seeds.entries()) {
      await waitFor(() => s.err.some(l => l.includes('LAN peer discovered') && l.includes(ids[1 - i]!)), { what: 'the other seed to be discovered' })
      await waitFor(() => s.err.some(l => l.includes('peer connected') && l.includes(ids[1 - i]!)), { what: 'a connection to the other seed' })
    }
    // LAN discovery's own counters are in the seed's registry.
    const m = await metrics(mport)
    expect(m.get('switchyard_lan_peers_found_total')).toBe(1)
    expect(m.get('switchyard_lan_datagrams_sent_total')).toBeGreaterThan(0)
    expect(m.get('switchyard_lan_datagrams_received_total')).toBeGreaterThan(0)
    for (const s of seeds) s.proc.kill('SIGTERM')
    expect(await Promise.all(seeds.map(async s => await s.exit))).toEqual([0, 0])
  }, 30_000)

  it('--p2p.ws_laddr: the seed also listens for WebSocket peers (/ping, a WebSocket dial), and wss:// without TLS files is a config error', async () => {
    const home = tmp()
    expect(await start(['init', '--home', home, '--chain-id', 'ws-chain']).exit).toBe(0)
    const r = start(['seed', '--home', home, '--p2p.laddr', 'tcp://127.0.0.1:0', '--p2p.ws_laddr', 'ws://127.0.0.1:0'])
    const wsAddress = (await r.line(l => l.startsWith('websocket: '), 'the WebSocket address')).slice('websocket: '.length)
    expect(wsAddress).toMatch(/^ws:\/\/[0-9a-f]{40}@127\.0\.0\.1:\d+$/)
    expect((await fetch(`http://${wsAddress.split('@')[1]!}/ping`)).status).toBe(200)
    const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'ws-chain' })
    sw.addReactor('pex', new PexReactor({ book: new AddrBook({ strict: false }), ensurePeersPeriod: 60_000, startJitter: false }))
    const { webSocketTransport } = await import('@switchyard/transport-ws')
    webSocketTransport(sw)
    await sw.start()
    try {
      await sw.dial(wsAddress)
      await waitFor(() => r.err.some(l => l.includes('peer connected') && l.includes(sw.nodeKey.id)), { what: 'the seed to log the WebSocket peer' })
    } finally {
      await sw.stop()
    }
    r.proc.kill('SIGTERM')
    expect(await r.exit).toBe(0)
    const bad = start(['seed', '--home', home, '--p2p.laddr', 'tcp://127.0.0.1:0', '--p2p.ws_laddr', 'wss://127.0.0.1:0'])
    expect(await bad.exit).toBe(3)
    expect(bad.err.join('\n')).toMatch(/ws_tls_cert_file/)
  })

  it('wss:// with p2p.ws_tls_cert_file and ws_tls_key_file from config.toml serves TLS (a client trusting the certificate gets /ping 200)', async () => {
    const home = tmp()
    expect(await start(['init', '--home', home, '--chain-id', 'wss-chain']).exit).toBe(0)
    const fixtures = `${root}packages/transport-ws/test/fixtures/`
    writeFileSync(join(home, 'config', 'ws-cert.pem'), readFileSync(`${fixtures}cert.pem`))
    writeFileSync(join(home, 'config', 'ws-key.pem'), readFileSync(`${fixtures}key.pem`))
    const toml = join(home, 'config', 'config.toml')
    writeFileSync(toml, readFileSync(toml, 'utf8').replace('[p2p]', '[p2p]\nws_laddr = "wss://127.0.0.1:0"\nws_tls_cert_file = "config/ws-cert.pem"\nws_tls_key_file = "config/ws-key.pem"\nws_allow = "known"'))
    const r = start(['seed', '--home', home, '--p2p.laddr', 'tcp://127.0.0.1:0'])
    const wsAddress = (await r.line(l => l.startsWith('websocket: '), 'the WebSocket address')).slice('websocket: '.length)
    expect(wsAddress).toMatch(/^wss:\/\/[0-9a-f]{40}@127\.0\.0\.1:\d+$/)
    const [host, port] = wsAddress.split('@')[1]!.split(':') as [string, string]
    const get = async (path: string, headers: Record<string, string> = {}): Promise<number> => await new Promise((resolve, reject) => {
      https.get({ host, port: Number(port), path, ca: readFileSync(`${fixtures}cert.pem`), headers }, res => { res.resume(); resolve(res.statusCode ?? 0) }).on('error', reject)
    })
    expect(await get('/ping')).toBe(200)
    // ws_allow = "known": an ID the seed does not know is refused before any upgrade.
    expect(await get('/ws', { PeerID: 'ab'.repeat(20), Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' })).toBe(403)
    r.proc.kill('SIGTERM')
    expect(await r.exit).toBe(0)
  })

  it('with no home and no flags, creates ./switchyard-home and listens on 127.0.0.1:26656 (or says the port is busy)', async () => {
    const cwd = tmp()
    const r = start(['seed'], cwd)
    await r.line(l => l.startsWith('created a home folder at '), 'the default home')
    // 26656 may be taken on a shared machine: either outcome is a clear, correct answer.
    const outcome = await Promise.race([r.address().then(a => ({ a })), r.exit.then(code => ({ code }))])
    if ('a' in outcome) {
      expect(outcome.a).toMatch(/@127\.0\.0\.1:26656$/)
      r.proc.kill('SIGTERM')
      expect(await r.exit).toBe(0)
    } else {
      expect(outcome.code).toBe(5)
      expect(r.err.join('\n')).toMatch(/127\.0\.0\.1:26656 is already in use/)
    }
    expect(readFileSync(join(cwd, 'switchyard-home', 'config', 'genesis.json'), 'utf8')).toMatch(/"chain_id": "switchyard-local"/)
  })
})
