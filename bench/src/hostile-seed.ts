/**
 * The seed daemon under the issue-13 attacks, measured on loopback. The seed runs as its own
 * process (the real CLI); attackers and honest peers run here. Prints one JSON object.
 *
 *   node bench/dist/hostile-seed.js partial-packets [--peers 40] [--packets 63000]
 *   node bench/dist/hostile-seed.js one-ip-flood [--seconds 30] [--rate 20]
 *   node bench/dist/hostile-seed.js silent-hold [--seconds 30]
 *   node bench/dist/hostile-seed.js dns-exit            (root: runs itself in new mount+net namespaces)
 * Add --cli PATH to measure another build of packages/switchyard/dist/cli.js (e.g. the previous commit).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import dgram from 'node:dgram'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HostilePeer } from '@switchyard/testing'
import { encodeDelimitedPacketMsg, encodePexMessage } from '@switchyard/wire'
import { init } from '@switchyard/cli'

const args = process.argv.slice(2)
const mode = args[0] ?? ''
const opt = (name: string, dflt: string): string => { const i = args.indexOf(name); return i >= 0 ? args[i + 1]! : dflt }
const num = (name: string, dflt: number): number => Number(opt(name, String(dflt)))
const CLI = opt('--cli', fileURLToPath(new URL('../../packages/switchyard/dist/cli.js', import.meta.url)))
const CHAIN = 'hostile-bench'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

interface Seed { proc: ChildProcess, port: number, err: string[], exited: Promise<number | null> }

async function startSeed (ip: string, flags: string[] = []): Promise<Seed> {
  const home = mkdtempSync(join(tmpdir(), 'swy-hostile-bench-'))
  await init({ home, laddr: `tcp://${ip}:0`, strict: false, chainId: CHAIN })
  const proc = spawn(process.execPath, [CLI, 'seed', '--home', home, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] })
  const err: string[] = []
  proc.stderr!.setEncoding('utf8').on('data', (t: string) => err.push(...t.split('\n').filter(l => l !== '')))
  const exited = new Promise<number | null>(resolve => proc.once('exit', code => resolve(code)))
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    proc.stdout!.setEncoding('utf8').on('data', (t: string) => {
      out += t
      const m = /address: \w+@[\d.]+:(\d+)/.exec(out)
      if (m !== null) resolve(Number(m[1]))
    })
    void exited.then(code => reject(new Error(`seed exited ${code}: ${err.slice(-3).join(' | ')}`)))
  })
  return { proc, port, err, exited }
}

function rssMb (pid: number): { rss: number, peak: number } {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)![1])
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) }
}

async function stopSeed (seed: Seed): Promise<void> {
  seed.proc.kill('SIGTERM')
  await Promise.race([seed.exited, sleep(10_000)])
  if (seed.proc.exitCode === null) seed.proc.kill('SIGKILL')
}

/** An honest peer: handshake, ask for addresses, succeed when the answer arrives within 5 s. */
async function honestAttempt (ip: string, port: number, from: string): Promise<boolean> {
  let hp: HostilePeer | undefined
  try {
    hp = await HostilePeer.connect(ip, port, { localAddress: from })
    await hp.handshake({ network: CHAIN, channels: [0x00] })
    const answered = new Promise<boolean>(resolve => {
      hp!.mconn!.on('message', ch => { if (ch === 0) resolve(true) })
      hp!.mconn!.once('close', () => resolve(false))
      setTimeout(() => resolve(false), 5000)
    })
    hp.mconn!.trySend(0, encodePexMessage({ type: 'request' }))
    return await answered
  } catch {
    return false
  } finally {
    hp?.destroy()
  }
}

async function partialPackets (): Promise<unknown> {
  const peers = num('--peers', 40)
  const packets = num('--packets', 63_000)
  // The grace hang-up would end the attack early: measured here is the reassembly bound alone.
  const seed = await startSeed('127.0.100.1', ['--p2p.seed_request_timeout', '10m', '--p2p.max_num_inbound_peers', String(peers)].filter(() => !args.includes('--base')))
  await sleep(500)
  const before = rssMb(seed.proc.pid!)
  const attackers: HostilePeer[] = []
  for (let i = 0; i < peers; i++) {
    const hp = await HostilePeer.connect('127.0.100.1', seed.port, { localAddress: `127.0.101.${i + 2}` })
    await hp.handshake({ network: CHAIN, channels: [0x00] })
    attackers.push(hp)
  }
  const one = encodeDelimitedPacketMsg(0x00, false, Uint8Array.of(1))
  const t0 = performance.now()
  let sent = 0
  // One packet per write, each waiting for the last: every 1-byte packet is its own encrypted frame.
  await Promise.all(attackers.map(async hp => {
    for (let i = 0; i < packets && !hp.isClosed; i++) {
      await new Promise<void>(resolve => hp.secret!.write(one, () => resolve()))
      sent++
    }
  }))
  await sleep(1000)
  const during = rssMb(seed.proc.pid!)
  const closedBySeed = attackers.filter(a => a.isClosed).length
  for (const a of attackers) a.destroy()
  await sleep(3000)
  const after = rssMb(seed.proc.pid!)
  await stopSeed(seed)
  const reasons: Record<string, number> = {}
  for (const l of seed.err) { const m = /peer disconnected .*reason=(\S+)/.exec(l); if (m !== null) reasons[m[1]!] = (reasons[m[1]!] ?? 0) + 1 }
  return { mode, disconnectReasons: reasons, peers, packetsPerPeer: packets, packetsSent: sent, seconds: Math.round((performance.now() - t0) / 100) / 10, closedBySeed, rssMb: { before: before.rss, withAttackersConnected: during.rss, peak: during.peak, afterTheyLeft: after.rss } }
}

async function oneIpFlood (): Promise<unknown> {
  const seconds = num('--seconds', 30)
  const rate = num('--rate', 20)
  const seed = await startSeed('127.0.110.1')
  const held: HostilePeer[] = []
  let stop = false
  // Silent connections from one address at `rate` per second, each held until the seed closes it.
  const flood = (async () => {
    while (!stop) {
      HostilePeer.connect('127.0.110.1', seed.port, { localAddress: '127.0.111.2' }).then(p => { held.push(p) }, () => {})
      await sleep(1000 / rate)
    }
  })()
  await sleep(2000)
  let ok = 0
  let attempts = 0
  const t0 = Date.now()
  for (let i = 0; Date.now() - t0 < seconds * 1000; i++) {
    attempts++
    if (await honestAttempt('127.0.110.1', seed.port, `127.0.112.${(i % 250) + 2}`)) ok++
    await sleep(1000)
  }
  stop = true
  await flood
  for (const p of held) p.destroy()
  const refusedLines = seed.err.filter(l => /refused/.test(l)).length
  await stopSeed(seed)
  return { mode, floodPerSecond: rate, seconds, honestAttempts: attempts, honestSucceeded: ok, successRate: Math.round(ok / attempts * 1000) / 10, floodConnections: held.length, seedLogLinesAboutRefusals: refusedLines }
}

async function silentHold (): Promise<unknown> {
  const seconds = num('--seconds', 30)
  const seed = await startSeed('127.0.120.1')
  const silent: HostilePeer[] = []
  // 40 peers (the inbound limit) complete the handshake and never ask for anything.
  for (let i = 0; i < 40; i++) {
    try {
      const hp = await HostilePeer.connect('127.0.120.1', seed.port, { localAddress: `127.0.121.${i + 2}` })
      await hp.handshake({ network: CHAIN, channels: [0x00] })
      silent.push(hp)
    } catch { /* refused */ }
  }
  let ok = 0
  let attempts = 0
  const t0 = Date.now()
  for (let i = 0; Date.now() - t0 < seconds * 1000; i++) {
    attempts++
    if (await honestAttempt('127.0.120.1', seed.port, `127.0.122.${(i % 250) + 2}`)) ok++
    await sleep(1000)
  }
  const droppedBySeed = silent.filter(s => s.isClosed).length
  for (const s of silent) s.destroy()
  await stopSeed(seed)
  return { mode, silentPeers: silent.length, seconds, honestAttempts: attempts, honestSucceeded: ok, successRate: Math.round(ok / attempts * 1000) / 10, silentDroppedBySeed: droppedBySeed }
}

async function dnsExit (): Promise<unknown> {
  if (!args.includes('--inside')) {
    if (process.getuid?.() !== 0) return { mode, skipped: 'needs root for private mount and network namespaces' }
    // Private namespaces: loopback only, and a resolv.conf naming a DNS server that never answers.
    const resolv = join(mkdtempSync(join(tmpdir(), 'swy-dns-')), 'resolv.conf')
    writeFileSync(resolv, 'nameserver 127.0.0.1\noptions timeout:30 attempts:4\n')
    const r = spawnSync('unshare', ['-m', '-n', 'sh', '-c', `ip link set lo up && mount --bind ${resolv} /etc/resolv.conf && exec "$0" "$@"`, process.execPath, fileURLToPath(import.meta.url), ...args, '--inside'], { encoding: 'utf8', timeout: 300_000 })
    if (r.status !== 0) throw new Error(`namespace run failed: ${r.stderr}`)
    return JSON.parse(r.stdout)
  }
  const hole = dgram.createSocket('udp4')
  let queries = 0
  hole.on('message', () => { queries++ })
  await new Promise<void>(resolve => hole.bind(53, '127.0.0.1', resolve))
  const seed = await startSeed('127.0.130.1')
  const hp = await HostilePeer.connect('127.0.130.1', seed.port, { localAddress: '127.0.130.2' })
  await hp.handshake({ network: CHAIN, channels: [0x00], nodeInfo: { listenAddr: 'tcp://peer.black-hole.test:26656' } }).catch(() => {})
  for (let i = 0; i < 200 && queries === 0; i++) await sleep(25)
  const t0 = performance.now()
  seed.proc.kill('SIGTERM')
  const code = await seed.exited
  const exitMs = Math.round(performance.now() - t0)
  hp.destroy()
  hole.close()
  return { mode, log: args.includes("--verbose") ? seed.err : undefined, dnsQueriesSeen: queries, exitCode: code, exitMsAfterSigterm: exitMs, stoppedLogged: seed.err.some(l => /INFO {2}stopped/.test(l)) }
}

const modes: Record<string, () => Promise<unknown>> = { 'partial-packets': partialPackets, 'one-ip-flood': oneIpFlood, 'silent-hold': silentHold, 'dns-exit': dnsExit }
const run = modes[mode]
if (run === undefined) {
  console.error(`usage: hostile-seed ${Object.keys(modes).join('|')} [--cli PATH]`)
  process.exit(2)
}
const result = await run()
const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: join(CLI, '..'), encoding: 'utf8' }).stdout.trim() || 'unknown'
console.log(JSON.stringify({ ...(result as object), cli: CLI, commit, date: new Date().toISOString() }))
process.exit(0)
