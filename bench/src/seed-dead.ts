/**
 * pnpm bench:seeds — how many dead addresses a seed hands out. 100 live Switchyard nodes (two child
 * processes) and 100 dead addresses (loopback IPs and ports nobody listens on) make one address book
 * of 200, half dead. Our seed (the `switchyard seed` CLI, defaults) and a CometBFT v0.38 seed
 * (interop/cometbft-peer -seed-mode, CometBFT's own PEX reactor) start from that same addrbook.json
 * on the same network, each in its own process. At each checkpoint a fresh node asks each seed for
 * addresses several times; we report the share of dead addresses in the answers and how many
 * distinct live nodes they named. Prints JSON lines, then medians over runs; raw results go to
 * bench/results/.
 *
 *   node bench/dist/seed-dead.js [--runs 3] [--checkpoints 5,15,30,60] [--samples 5]
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NetAddress, NodeKey, Reactor, Switch, type Envelope } from '@switchyard/p2p'
import { AddrBook, PexChannel } from '@switchyard/pex'
import type { PexMessage } from '@switchyard/wire'
import { init } from '@switchyard/cli'

const args = process.argv.slice(2)
const arg = (name: string, dflt: string): string => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] ?? dflt : dflt }
const RUNS = Number(arg('--runs', '3'))
const CHECKPOINTS = arg('--checkpoints', '5,15,30,60').split(',').map(Number)
const SAMPLES = Number(arg('--samples', '5'))
const LIVE_PER_CHILD = 50
const CHILDREN = 2
const DEAD = 100
const NETWORK = 'seed-bench'

const root = fileURLToPath(new URL('../../', import.meta.url))
const cli = join(root, 'packages/switchyard/dist/cli.js')
const goBinary = join(root, 'interop/cometbft-peer/bin/cometbft-peer')

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Waits for a line on a child's stream that matches `re`; resolves with the match. */
async function lineFrom (proc: ChildProcess, stream: 'stdout' | 'stderr', re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  return await new Promise((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => { reject(new Error(`timed out waiting for ${re} (last output: ${buf.slice(-300)})`)) }, timeoutMs)
    proc[stream]!.setEncoding('utf8')
    proc[stream]!.on('data', (t: string) => {
      buf += t
      const m = buf.match(re)
      if (m !== null) { clearTimeout(timer); resolve(m) }
    })
  })
}

/** A port on `ip` that nothing listens on. */
async function deadPort (ip: string): Promise<number> {
  const s = net.createServer()
  await new Promise<void>(resolve => s.listen(0, ip, resolve))
  const port = (s.address() as net.AddressInfo).port
  await new Promise(resolve => s.close(resolve))
  return port
}

class AskOnce extends Reactor {
  readonly channels = [PexChannel]
  answer: Array<{ id: string }> | undefined
  private done: (() => void) | undefined
  readonly answered = new Promise<void>(resolve => { this.done = resolve })
  override receive ({ message }: Envelope<PexMessage>): void {
    if (message.type === 'addrs') { this.answer = message.addrs; this.done?.() }
  }
}

let samplerIp = 0
/** One PexRequest from a fresh node (a new ID each time, so no seed sees a repeat asker). */
async function ask (seed: string): Promise<string[]> {
  const asker = new AskOnce()
  const ip = `127.0.202.${1 + (samplerIp++ % 250)}`
  const sw = new Switch({ nodeKey: NodeKey.generate(), network: NETWORK, listenAddress: `tcp://${ip}:0`, dialFromAddress: ip, dialJitter: 0 })
  sw.addReactor('ask', asker)
  await sw.start()
  try {
    const peer = await sw.dial(NetAddress.parse(seed))
    peer.trySend(PexChannel, { type: 'request' })
    await Promise.race([asker.answered, sleep(10_000)])
    return asker.answer?.map(a => a.id) ?? []
  } finally {
    await sw.stop({ timeout: 500 })
  }
}

interface Checkpoint { seconds: number, seed: 'switchyard' | 'cometbft', answers: number, served: number, dead: number, deadShare: number, distinctLive: number }

async function oneRun (run: number): Promise<Checkpoint[]> {
  // The live network.
  const children = Array.from({ length: CHILDREN }, (_, block) => fork(join(root, 'bench/dist/seed-dead-nodes.js'), [NETWORK, String(LIVE_PER_CHILD), String(block + 1)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  const live = (await Promise.all(children.map(async c => await new Promise<string[]>(resolve => c.once('message', (m: { addresses: string[] }) => { resolve(m.addresses) }))))).flat()
  const liveIds = new Set(live.map(a => a.split('@')[0]!))
  // Dead addresses: their own IPs (own /16s), ports nobody listens on.
  const dead: NetAddress[] = []
  for (let i = 0; i < DEAD; i++) {
    const ip = `127.${100 + (i % 50)}.9.${1 + Math.floor(i / 50)}`
    dead.push(new NetAddress(NodeKey.generate().id, ip, await deadPort(ip)))
  }
  // One address book, half dead, for both seeds.
  const dir = mkdtempSync(join(os.tmpdir(), 'seed-bench-'))
  const bookPath = join(dir, 'addrbook.json')
  const book = new AddrBook({ strict: false, filePath: bookPath })
  for (const a of [...live.map(s => NetAddress.parse(s)), ...dead]) book.addAddress(a, a)
  await book.save()

  const home = join(dir, 'ours')
  await init({ home, laddr: 'tcp://127.0.200.1:0', strict: false, chainId: NETWORK })
  copyFileSync(bookPath, join(home, 'config', 'addrbook.json'))
  const ours = spawn(process.execPath, [cli, 'seed', '--home', home], { stdio: ['ignore', 'pipe', 'pipe'] })
  ours.stderr!.resume()
  const goBook = join(dir, 'cometbft-addrbook.json')
  copyFileSync(bookPath, goBook)
  const theirs = spawn(goBinary, ['-pex', '-seed-mode', '-echo-channel', '-1', '-chain-id', NETWORK, '-host', '127.0.201.1', '-addrbook', goBook, '-node-key', join(dir, 'go_node_key.json')], { stdio: ['ignore', 'pipe', 'inherit'] })
  const [oursAddr, theirsAddr] = await Promise.all([
    lineFrom(ours, 'stdout', /address: (\S+)/).then(m => m[1]!),
    lineFrom(theirs, 'stdout', /"addr":"([^"]+)","cometbft"/).then(m => m[1]!)
  ])
  const started = Date.now()
  const out: Checkpoint[] = []
  try {
    for (const seconds of CHECKPOINTS) {
      await sleep(Math.max(0, started + seconds * 1000 - Date.now()))
      for (const [name, addr] of [['switchyard', oursAddr], ['cometbft', theirsAddr]] as const) {
        const answers: string[][] = []
        for (let s = 0; s < SAMPLES; s++) answers.push(await ask(addr))
        const all = answers.flat()
        const deadN = all.filter(id => !liveIds.has(id)).length
        const cp: Checkpoint = {
          seconds, seed: name, answers: answers.length, served: all.length, dead: deadN,
          deadShare: all.length === 0 ? 0 : deadN / all.length,
          distinctLive: new Set(all.filter(id => liveIds.has(id))).size
        }
        console.log(JSON.stringify({ bench: 'seed-dead-share', run, ...cp }))
        out.push(cp)
      }
    }
  } finally {
    ours.kill('SIGTERM')
    theirs.kill('SIGTERM')
    for (const c of children) c.send('stop')
    await Promise.all([ours, theirs, ...children].map(async p => await new Promise(resolve => { if (p.exitCode !== null) resolve(null); else p.once('exit', resolve) })))
  }
  return out
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

if (!existsSync(goBinary)) {
  console.error('the CometBFT seed is missing: run interop/cometbft-peer/build.sh v0.38 first')
  process.exit(1)
}
const all: Checkpoint[] = []
for (let run = 0; run < RUNS; run++) all.push(...await oneRun(run))

const summary = CHECKPOINTS.map(seconds => {
  const row = (seed: Checkpoint['seed']): Record<string, number> => {
    const xs = all.filter(c => c.seconds === seconds && c.seed === seed)
    return { deadSharePct: Math.round(median(xs.map(c => c.deadShare)) * 1000) / 10, servedPerAnswer: median(xs.map(c => c.served / c.answers)), distinctLive: median(xs.map(c => c.distinctLive)) }
  }
  return { seconds, switchyard: row('switchyard'), cometbft: row('cometbft') }
})
console.log(JSON.stringify({ bench: 'seed-dead-share-summary', runs: RUNS, live: LIVE_PER_CHILD * CHILDREN, dead: DEAD, samplesPerCheckpoint: SAMPLES, summary }))
console.table(summary.map(s => ({
  's after start': s.seconds,
  'ours: dead %': s.switchyard.deadSharePct,
  'ours: addrs/answer': s.switchyard.servedPerAnswer,
  'ours: live named': s.switchyard.distinctLive,
  'CometBFT: dead %': s.cometbft.deadSharePct,
  'CometBFT: addrs/answer': s.cometbft.servedPerAnswer,
  'CometBFT: live named': s.cometbft.distinctLive
})))

let commit = 'unknown'
try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim() } catch { /* not a checkout */ }
const resultsDir = join(root, 'bench/results')
mkdirSync(resultsDir, { recursive: true })
const date = new Date().toISOString()
const file = join(resultsDir, `seed-dead-share-${date.replace(/[:.]/g, '-')}.json`)
writeFileSync(file, JSON.stringify({ bench: 'seed-dead-share', commit, date, node: process.version, cpus: os.cpus().length, runs: RUNS, checkpoints: all, summary }, null, 2) + '\n')
console.log(`raw results: ${file}`)
