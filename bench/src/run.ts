/**
 * pnpm bench: every transport measured in this one run over loopback TCP, the receiver in a child
 * process (its own process and event loop) that verifies every byte (after the same untimed, verified
 * warm-up for every transport). The baselines (raw socket,
 * js-libp2p noise+yamux, Hyperswarm secret-stream+protomux) and the AEAD ceiling are measured in
 * the same run, the kinds interleaved within each round so they see the same machine load.
 * Prints one JSON line per measurement, then medians and same-run ratios; writes everything to
 * bench/results/<date>-<commit>.json.
 *
 *   node bench/dist/run.js [--runs 3] [--quick] [--only aead,transports,handshake,cometbft,book,pex,pexscale,priority,ws]
 *                          [--kinds raw,mconn,secret:native,...] [--out bench/results] [--pex-nodes 400]
 *                          [--handshake-sources distinct|shared]
 */
import { execSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { availableAeads, defaultAead } from '@switchyard/conn'
import { kindName, type Kind } from './links.js'
import { pairRtt, pairSend } from './pair.js'
import { aeadCeiling } from './aead-ceiling.js'
import { handshakeRate } from './handshakes.js'
import { bookBench, convergenceBench } from './pex.js'
import { pexScaleBench } from './pex-scale.js'
import { interopAvailable, interopBench } from './interop.js'
import { priorityBench } from './priority.js'
import { median } from './measures.js'
import { transportBench, transportSummary } from './transports.js'

const args = process.argv.slice(2)
const arg = (name: string, dflt: string): string => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] ?? dflt : dflt }
const RUNS = Number(arg('--runs', '3'))
const QUICK = args.includes('--quick')
const ONLY = new Set(arg('--only', 'aead,transports,handshake,cometbft,book,pex,pexscale,priority,ws').split(','))
const MiB = 1024 * 1024
// 'shared' (every dialer from 127.0.0.1, most refused by the per-IP limit) exists to check that refusals are survived.
const HANDSHAKE_SOURCES = arg('--handshake-sources', 'distinct') === 'shared' ? 'shared' : 'distinct'
// The best AEAD once more with send pacing off (both ends), to show what the pacer costs in bulk.
// 'frames' is the floor of the encrypted wire on this machine (bare-frames.ts): what any stack on it can reach at most.
const allKinds: Kind[] = ['raw', 'frames', 'mconn', ...availableAeads().map(a => `secret:${a}` as Kind), `secret-unpaced:${availableAeads()[0]!}`, 'libp2p', 'hyperswarm']
const KINDS = arg('--kinds', allKinds.join(',')).split(',') as Kind[]
const OUT = arg('--out', fileURLToPath(new URL('../results/', import.meta.url)))

type Figures = Record<string, number>
const records: Array<{ bench: string, run: number, figures: Figures }> = []

function record (bench: string, run: number, figures: Figures): void {
  console.log(JSON.stringify({ bench, run, ...figures }))
  records.push({ bench, run, figures })
}

function med (bench: string, key: string): number | undefined {
  const xs = records.filter(r => r.bench === bench && r.figures[key] !== undefined).map(r => r.figures[key]!)
  return xs.length > 0 ? median(xs) : undefined
}

/** Per-run ratio of two benches' figures (same round), then the median of those ratios. */
function ratio (a: string, ak: string, b: string, bk: string): number | undefined {
  const xs: number[] = []
  for (let run = 0; run < RUNS; run++) {
    const x = records.find(r => r.bench === a && r.run === run)?.figures[ak]
    const y = records.find(r => r.bench === b && r.run === run)?.figures[bk]
    if (x !== undefined && y !== undefined) xs.push(x / y)
  }
  return xs.length > 0 ? median(xs) : undefined
}

function fmt (x: number | undefined, digits = 0): string {
  return x === undefined ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
}

/**
 * Timed bytes per transport, after the same warm-up for every transport (the warm-up crosses the
 * same connection first and is verified too, but not timed: JIT compilation and the first socket
 * buffers would otherwise weigh most on the fastest transports' short runs).
 */
function sizes (kind: Kind): { bulk: number, msgs: number, bulkWarmup: number, msgsWarmup: number } {
  const slow = kind === 'secret:node:crypto' || kind === 'libp2p'
  const bulk = QUICK ? 16 * MiB : slow ? 64 * MiB : 256 * MiB
  // js-libp2p sends each 200-byte message as its own yamux frame and Noise message: ~2–20 k/s.
  const msgs = QUICK ? 20_000 : kind === 'libp2p' ? 20_000 : 200_000
  return { bulk, msgs, bulkWarmup: QUICK ? 4 * MiB : 32 * MiB, msgsWarmup: QUICK ? 2000 : 10_000 }
}

function gitCommit (): string {
  try {
    const head = execSync('git rev-parse --short=12 HEAD', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    const dirty = execSync('git status --porcelain --untracked-files=no', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== ''
    return dirty ? `${head}+dirty` : head
  } catch {
    return 'unknown'
  }
}

async function main (): Promise<void> {
  const started = new Date()
  for (let run = 0; run < RUNS; run++) {
    if (ONLY.has('aead')) {
      for (const a of availableAeads()) record(`aead ${a}, 64 frames of 1028 B per call`, run, aeadCeiling(a, QUICK ? 20 : 200))
    }
    if (ONLY.has('transports')) {
      for (const kind of KINDS) {
        const { bulk, msgs, bulkWarmup, msgsWarmup } = sizes(kind)
        const b = await pairSend(kind, 64 * 1024, bulk, bulkWarmup)
        const bulkFigures = {
          bulkMBs: b.mbPerSec, bulkSenderCpuMs: b.senderCpuMs, bulkReceiverCpuMs: b.receiverCpuMs, bulkSeconds: b.seconds,
          // MB per CPU-second of each end: what the load of other processes on the machine changes least.
          bulkMBsPerSenderCpuS: b.mbPerSec * b.seconds * 1000 / b.senderCpuMs, bulkMBsPerReceiverCpuS: b.mbPerSec * b.seconds * 1000 / b.receiverCpuMs,
          // Kernel (system) share of each end's CPU time: what the socket itself costs.
          bulkSenderSystemShare: b.senderSystemMs / b.senderCpuMs, bulkReceiverSystemShare: b.receiverSystemMs / b.receiverCpuMs
        }
        // The bare frames are a bulk floor only: a 200-byte message alone in a padded frame says nothing.
        if (kind === 'frames') { record(kindName(kind), run, bulkFigures); continue }
        const m = await pairSend(kind, 200, 200 * msgs, 200 * msgsWarmup)
        const r = await pairRtt(kind, 100, QUICK ? 300 : 2000)
        record(kindName(kind), run, { ...bulkFigures, msgsPerSec: m.msgsPerSec, rttP50us: r.p50us, rttP99us: r.p99us })
      }
    }
    if (ONLY.has('handshake')) {
      const { dialErrorsByCode: _byCode, ...h } = await handshakeRate(QUICK ? 1000 : 3000, { sources: HANDSHAKE_SOURCES })
      record('handshakes accepted by a Switch, dialers in a child process', run, h)
    }
  }
  if (ONLY.has('ws')) {
    // The Switch over TCP and over WebSocket (random and zero masks), taking turns in each round
    // against one receiver process that verifies every byte (transports.ts).
    const sizes = { bulkBytes: QUICK ? 16 * MiB : 64 * MiB, msgCount: QUICK ? 20_000 : 100_000, rttIterations: QUICK ? 300 : 1000 }
    const figures = await transportBench(RUNS, sizes, ({ transport, ...f }, run) => {
      const label = transport === 'tcp' ? 'TCP' : transport === 'ws' ? 'WebSocket' : 'WebSocket, zero mask'
      record(`Switch over ${label}, receiver in a child process`, run, f)
    })
    record('WebSocket vs TCP (medians of this run)', 0, transportSummary(figures))
  }
  if (ONLY.has('cometbft')) {
    if (!interopAvailable()) {
      console.log('(CometBFT comparison skipped: build interop/cometbft-peer with Go first)')
    } else {
      for (let run = 0; run < RUNS; run++) {
        for (const f of await interopBench(QUICK ? 100 : 1000, QUICK ? 20_000 : 100_000, QUICK ? 300 : 1000)) {
          record(`vs CometBFT: ${f.pair}`, run, { bulkMBs: f.bulkMBs ?? NaN, msgsPerSec: f.msgsPerSec ?? NaN, rttP50us: f.rttP50us ?? NaN, rttP99us: f.rttP99us ?? NaN })
        }
      }
    }
  }
  if (ONLY.has('priority')) {
    // Urgent messages and pings while a low-priority channel saturates the link (priority.ts).
    for (const s of await priorityBench({ runs: RUNS, warmupMs: 500, measureMs: QUICK ? 2000 : 5000, resultsDir: fileURLToPath(new URL('../results/', import.meta.url)) })) {
      record(`priority under load → ${s.receiver}`, 0, { urgentP99IdleMs: s.idleUrgentP99ms, urgentP99PacedMs: s.pacedUrgentP99ms, urgentP99UnpacedMs: s.unpacedUrgentP99ms, pingP99IdleMs: s.idlePingP99ms, pingP99PacedMs: s.pacedPingP99ms, pingP99UnpacedMs: s.unpacedPingP99ms, bulkPacedMBs: s.pacedBulkMBs, bulkUnpacedMBs: s.unpacedBulkMBs, senderLoopP99PacedMs: s.pacedSenderLoopP99ms, senderCpuWaitPaced: s.pacedSenderCpuWaitShare, receiverCpuWaitPaced: s.pacedReceiverCpuWaitShare, urgentVsIdle: s.urgentP99VsIdle, pingVsIdle: s.pingP99VsIdle, bulkVsUnpaced: s.bulkVsUnpaced, errors: s.errors })
    }
  }
  if (ONLY.has('book')) {
    for (let run = 0; run < RUNS; run++) record(`AddrBook with ${QUICK ? 5000 : 20_000} addresses`, run, { ...await bookBench(QUICK ? 5000 : 20_000) })
  }
  if (ONLY.has('pex')) {
    for (let run = 0; run < RUNS; run++) {
      const c = await convergenceBench(QUICK ? 30 : 100)
      record(`PEX convergence, ${c.nodes} nodes from one seed, outbound target ${c.target}`, run, { seconds: c.seconds })
    }
  }
  if (ONLY.has('pexscale')) {
    // Nodes in child processes of 100, the seed in its own; both layouts in the same round.
    const n = QUICK ? 100 : Number(arg('--pex-nodes', '400'))
    for (let run = 0; run < RUNS; run++) {
      for (const layout of ['spread', 'one16'] as const) {
        const f = await pexScaleBench(n, 10, layout)
        const { seconds, converged, bookMin, bookMedian, bookMax, diameter, seedDegree } = f
        record(`PEX convergence across processes, ${n} nodes, outbound target 10, ${layout === 'spread' ? 'spread over /16 groups' : 'all in one /16 (old test layout)'}`, run, { seconds, converged, bookMin, bookMedian, bookMax, connected: f.connected ? 1 : 0, diameter, seedDegree })
      }
    }
  }

  const commit = gitCommit()
  console.log(`\nSwitchyard bench ${started.toISOString()}, commit ${commit}, node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load ${os.loadavg().map(x => x.toFixed(1)).join(' ')}; medians of ${RUNS} runs`)
  console.log('Every transport: receiver in a child process, all bytes verified; ratios are medians of per-round ratios.\n')
  const raw = kindName('raw')
  const lp = kindName('libp2p')
  const hs = kindName('hyperswarm')
  const frames = kindName('frames')
  const ceiling = `aead ${availableAeads()[0]!}, 64 frames of 1028 B per call`
  const summary: Record<string, Figures> = {}
  if (ONLY.has('transports')) {
    console.log('| transport | bulk MB/s | ÷ seal ceiling | ÷ bare frames | ÷ js-libp2p | ÷ Hyperswarm | MB per sender CPU-s | ÷ seal ceiling per CPU-s | MB per receiver CPU-s | 200-B msgs/s | RTT p50 µs | ÷ raw | RTT p99 µs |')
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
    for (const kind of KINDS) {
      const name = kindName(kind)
      const row: Figures = {}
      const put = (k: string, v: number | undefined): number | undefined => { if (v !== undefined) row[k] = v; return v }
      const cells = [
        fmt(put('bulkMBs', med(name, 'bulkMBs'))),
        fmt(put('bulkOverSealCeiling', ratio(name, 'bulkMBs', ceiling, 'sealMBs')), 2),
        fmt(put('bulkOverBareFrames', ratio(name, 'bulkMBs', frames, 'bulkMBs')), 2),
        fmt(put('bulkOverLibp2p', ratio(name, 'bulkMBs', lp, 'bulkMBs')), 2),
        fmt(put('bulkOverHyperswarm', ratio(name, 'bulkMBs', hs, 'bulkMBs')), 2),
        fmt(put('bulkMBsPerSenderCpuS', med(name, 'bulkMBsPerSenderCpuS'))),
        fmt(put('senderCpuOverSealCeiling', ratio(name, 'bulkMBsPerSenderCpuS', ceiling, 'sealMBsPerCpuS')), 2),
        fmt(put('bulkMBsPerReceiverCpuS', med(name, 'bulkMBsPerReceiverCpuS'))),
        fmt(put('msgsPerSec', med(name, 'msgsPerSec'))),
        fmt(put('rttP50us', med(name, 'rttP50us'))),
        fmt(put('rttP50OverRaw', ratio(name, 'rttP50us', raw, 'rttP50us')), 2),
        fmt(put('rttP99us', med(name, 'rttP99us')))
      ]
      summary[name] = row
      console.log(`| ${name} | ${cells.join(' | ')} |`)
    }
    console.log('')
  }
  for (const bench of new Set(records.map(r => r.bench))) {
    if (summary[bench] !== undefined) continue
    const keys = Object.keys(records.find(r => r.bench === bench)!.figures)
    summary[bench] = Object.fromEntries(keys.map(k => [k, med(bench, k)!]))
    console.log(`| ${bench} | ${keys.map(k => { const v = med(bench, k); return `${k} ${fmt(v, v !== undefined && Math.abs(v) < 10 ? 2 : 0)}` }).join(' · ')} |`)
  }
  mkdirSync(OUT, { recursive: true })
  const file = join(OUT, `${started.toISOString().replace(/[:.]/g, '-')}-${commit}.json`)
  writeFileSync(file, JSON.stringify({
    date: started.toISOString(), commit, node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model,
    loadavg: os.loadavg(), args, runs: RUNS, defaultAead, aeads: availableAeads(), records, summary
  }, null, 2) + '\n')
  console.log(`\nraw results: ${file}`)
  process.exit(0)
}

main().catch(err => { console.error(err); process.exit(1) })
