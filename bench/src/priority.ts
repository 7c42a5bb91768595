/**
 * Priority under load: does an urgent channel stay fast while a low-priority channel saturates the
 * link? Per receiver (Switchyard plaintext, Switchyard encrypted, CometBFT's own MConnection), three
 * phases on fresh connections, all in one run:
 * - idle: no bulk; the baseline;
 * - paced: bulk 64 KiB messages on the low-priority channel as fast as the connection takes them,
 *   pacing on (the default);
 * - unpaced: the same with `pacing: false`.
 * In every phase a 100-byte urgent message goes on the high-priority channel every 10 ms and a
 * ping() every 20 ms, after a warm-up. The receiver runs in its own process (a child process, or the
 * Go cometbft-peer), checks every message, and measures one-way latency against the send time
 * carried in the message (same machine, same wall clock). Bulk throughput counts only verified bytes
 * that arrived while urgent messages were being sent.
 */
import { execFileSync, fork, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { once } from 'node:events'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { Duplex } from 'node:stream'
import { MConnection, type SendPacerOptions } from '@switchyard/conn'
import { NodeKey, makeNodeInfo, upgradeToPeer } from '@switchyard/p2p'
import { HIGH, LOW, bulkMessage, channels, quantile, urgentMessage, type ReceiverReport } from './priority-messages.js'

export type Receiver = 'plaintext' | 'encrypted' | 'cometbft'
export type Phase = 'idle' | 'paced' | 'unpaced'

export interface PriorityFigures {
  receiver: Receiver
  phase: Phase
  urgentP50ms: number
  urgentP99ms: number
  urgentMaxMs: number
  urgentCount: number
  pingP50ms: number
  pingP99ms: number
  pingCount: number
  bulkMBs: number
  /**
   * p99 of the sender's event-loop delay while measuring, ms: how long this process waited to run,
   * the scale of the scheduling stalls on a shared machine (no queue discipline removes them).
   */
  senderLoopP99ms: number
  /**
   * Thread-ms each process spent runnable but waiting for a CPU, per ms of measuring (Linux
   * schedstat, summed over its threads, so it can exceed 1; NaN elsewhere): CPU starvation, which
   * no queue discipline removes.
   */
  senderCpuWaitShare: number
  receiverCpuWaitShare: number
  /** The pacer's window at the end of the phase, bytes (NaN when pacing is off). */
  window: number
  errors: string[]
}

export interface PriorityOptions {
  warmupMs: number
  measureMs: number
  /** Pacer settings for the paced phase (default: MConnection's defaults). */
  pacer?: SendPacerOptions
}

/**
 * Time the process's threads spent runnable but waiting for a CPU, ms (the second field of each
 * /proc/<pid>/task/<tid>/schedstat); NaN where that does not exist.
 */
function cpuWaitMs (pid: number | undefined): number {
  if (pid === undefined) return NaN
  try {
    let ns = 0
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try { ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]) } catch {} // a thread that just ended
    }
    return ns / 1e6
  } catch {
    return NaN
  }
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const goBinary = fileURLToPath(new URL('../../interop/cometbft-peer/bin/cometbft-peer', import.meta.url))

export function cometbftReceiverAvailable (): boolean { return existsSync(goBinary) }

/** A receiver in another process: where to dial, and how to get its tally of one connection. */
export interface Remote {
  port: number
  /** The receiving process (for its CPU wait share). */
  pid: number | undefined
  peerId?: string
  /** Called after the sender stopped; resolves with the receiver's tally of that connection. */
  report: (conn: MConnection, urgentSent: number) => Promise<ReceiverReport>
  stop: () => Promise<void>
}

export async function nodeReceiver (mode: 'plain' | 'encrypted'): Promise<Remote> {
  const child = fork(fileURLToPath(new URL('./priority-receiver.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  child.send({ mode })
  const [{ port }] = await once(child, 'message') as [{ port: number }]
  return {
    port,
    pid: child.pid,
    report: async (_conn, urgentSent) => {
      child.send({ report: urgentSent })
      const [m] = await once(child, 'message') as [{ report: ReceiverReport | undefined }]
      if (m.report === undefined) throw new Error('the receiver has no connection to report on')
      return m.report
    },
    stop: async () => { child.kill(); await once(child, 'exit') }
  }
}

/** Whether this build of the Go peer can silence CometBFT's per-packet debug lines (costly under bulk). */
function goHasLogDebugFlag (): boolean {
  const r = spawnSync(goBinary, ['-h'], { encoding: 'utf8' })
  return `${r.stdout}${r.stderr}`.includes('-log-debug')
}

export async function cometbftReceiver (): Promise<Remote> {
  const home = mkdtempSync(join(tmpdir(), 'swy-prio-'))
  const proc: ChildProcess = spawn(goBinary, [
    '-node-key', join(home, 'nk.json'), '-addrbook', join(home, 'ab.json'), '-chain-id', 'bench',
    '-send-rate', '1000000000000', '-recv-rate', '1000000000000', '-flush-throttle', '10ms',
    '-echo-channel', '-1', '-prio-sink', '-prio-high', String(HIGH), '-prio-low', String(LOW),
    ...(goHasLogDebugFlag() ? ['-log-debug=false'] : [])
  ], { stdio: ['ignore', 'pipe', 'inherit'] })
  const waiting: Array<(e: Record<string, any>) => void> = []
  let buf = ''
  proc.stdout!.setEncoding('utf8').on('data', (t: string) => {
    buf += t
    const lines = buf.split('\n')
    buf = lines.pop()!
    for (const l of lines) {
      let e: Record<string, any>
      try { e = JSON.parse(l) } catch { continue }
      if (e.event === 'listening' || e.event === 'prio_report') waiting.shift()?.(e)
    }
  })
  const next = async (what: string): Promise<Record<string, any>> => await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`cometbft-peer: no ${what}`)), 60_000)
    waiting.push(e => { clearTimeout(t); resolve(e) })
  })
  const l = await next('listening')
  return {
    port: Number(String(l.addr).split(':').pop()),
    pid: proc.pid,
    peerId: String(l.id),
    report: async (conn, urgentSent) => {
      // CometBFT reports a peer's tally when the peer leaves; let the urgent messages land first.
      const deadline = Date.now() + 30_000
      while (conn.status().channels.some(c => c.pendingBytes > 0) && Date.now() < deadline) await sleep(10)
      await sleep(1000)
      const reported = next('prio_report')
      conn.close()
      const e = await reported
      const r: ReceiverReport = { highCount: e.high_count, lowCount: e.low_count, lowBytesInWindow: e.low_bytes_in_window, windowMs: e.window_ms, latencies: e.latencies_ms ?? [], errors: e.errors ?? [] }
      if (r.highCount < urgentSent) r.errors.push(`${urgentSent - r.highCount} urgent messages never arrived`)
      return r
    },
    stop: async () => { proc.kill('SIGKILL'); await once(proc, 'exit'); rmSync(home, { recursive: true, force: true }) }
  }
}

/** Dials the receiver; the socket and the stream under the MConnection are for inspection. */
export async function connect (remote: Remote, receiver: Receiver, pacing: boolean | SendPacerOptions): Promise<{ m: MConnection, socket: net.Socket, stream: Duplex }> {
  const socket = net.connect(remote.port, '127.0.0.1')
  await once(socket, 'connect')
  socket.setNoDelay(true)
  let stream: Duplex = socket
  if (receiver !== 'plaintext') {
    const key = NodeKey.generate()
    const info = makeNodeInfo({ nodeId: key.id, network: 'bench', listenAddr: 'tcp://127.0.0.1:1', moniker: 'sender', channels: [HIGH, LOW] })
    stream = (await upgradeToPeer(socket, { nodeKey: key, nodeInfo: info, ...(remote.peerId !== undefined ? { expectedPeerId: remote.peerId } : {}) })).conn
  }
  const m = new MConnection(stream, { channels, pacing })
  m.on('close', () => {})
  return { m, socket, stream }
}

async function phase (remote: Remote, receiver: Receiver, which: Phase, o: PriorityOptions): Promise<PriorityFigures> {
  const { m } = await connect(remote, receiver, which === 'unpaced' ? false : o.pacer ?? true)
  let running = true
  const bulk = which === 'idle'
    ? Promise.resolve()
    : (async () => {
        for (let seq = 0; running && !m.isClosed; seq++) {
          const msg = bulkMessage(seq)
          if (!m.trySend(LOW, msg) && !await m.send(LOW, msg, { timeout: 60_000 })) throw new Error(`bulk message ${seq} was refused`)
        }
      })()
  await sleep(o.warmupMs)
  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  const waitStart = [cpuWaitMs(process.pid), cpuWaitMs(remote.pid)]
  const measureStart = performance.now()
  let urgent = 0
  let measuring = true
  const errors: string[] = []
  const ticker = setInterval(() => {
    if (m.trySend(HIGH, urgentMessage(urgent))) urgent++
    else errors.push('an urgent message found its queue full')
  }, 10)
  const pings: number[] = []
  const pinger = (async () => {
    while (measuring && !m.isClosed) {
      pings.push(await m.ping(5000))
      await sleep(20)
    }
  })()
  await sleep(o.measureMs)
  measuring = false
  loop.disable()
  const measured = performance.now() - measureStart
  const [senderWait, receiverWait] = [cpuWaitMs(process.pid), cpuWaitMs(remote.pid)].map((w, i) => (w - waitStart[i]!) / measured)
  clearInterval(ticker)
  await pinger
  running = false
  await bulk
  const window = m.status().pacing?.window ?? NaN
  const r = await remote.report(m, urgent)
  m.close()
  return {
    receiver,
    phase: which,
    urgentP50ms: quantile(r.latencies, 0.5),
    urgentP99ms: quantile(r.latencies, 0.99),
    urgentMaxMs: quantile(r.latencies, 1),
    urgentCount: r.highCount,
    pingP50ms: quantile(pings, 0.5),
    pingP99ms: quantile(pings, 0.99),
    pingCount: pings.length,
    bulkMBs: r.windowMs > 0 ? r.lowBytesInWindow / r.windowMs / 1000 : 0,
    senderLoopP99ms: loop.percentile(99) / 1e6,
    senderCpuWaitShare: senderWait!,
    receiverCpuWaitShare: receiverWait!,
    window,
    errors: [...errors, ...r.errors]
  }
}

/** One run: every phase for `receiver`, on fresh connections to one receiver process. */
export async function priorityRun (receiver: Receiver, o: PriorityOptions): Promise<PriorityFigures[]> {
  const remote = receiver === 'cometbft' ? await cometbftReceiver() : await nodeReceiver(receiver === 'plaintext' ? 'plain' : 'encrypted')
  try {
    const out: PriorityFigures[] = []
    for (const p of ['idle', 'paced', 'unpaced'] as const) out.push(await phase(remote, receiver, p, o))
    return out
  } finally {
    await remote.stop()
  }
}

export interface PriorityBenchOptions extends PriorityOptions {
  runs: number
  /** Where raw results go (a JSON file per invocation); undefined: not saved. */
  resultsDir?: string
}

/** Same-run verdicts of issue 15, from the medians of `runs` runs. */
export interface PrioritySummary {
  receiver: Receiver
  idleUrgentP50ms: number
  pacedUrgentP50ms: number
  unpacedUrgentP50ms: number
  idleUrgentP99ms: number
  pacedUrgentP99ms: number
  unpacedUrgentP99ms: number
  idlePingP99ms: number
  pacedPingP99ms: number
  unpacedPingP99ms: number
  pacedBulkMBs: number
  unpacedBulkMBs: number
  idleSenderLoopP99ms: number
  pacedSenderLoopP99ms: number
  unpacedSenderLoopP99ms: number
  /** Medians of the CPU wait shares (see PriorityFigures) in the paced phase. */
  pacedSenderCpuWaitShare: number
  pacedReceiverCpuWaitShare: number
  /** Median over runs of each run's own ratio (paced / idle, paced bulk / unpaced bulk). */
  urgentP99VsIdle: number
  pingP99VsIdle: number
  bulkVsUnpaced: number
  errors: number
}

function med (xs: number[]): number {
  const s = xs.filter(x => !Number.isNaN(x)).sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/**
 * `runs` runs for each receiver (CometBFT's only when the Go peer is built); prints one JSON line
 * per phase and run, then a JSON summary per receiver, and saves everything in resultsDir.
 */
export async function priorityBench (o: PriorityBenchOptions): Promise<PrioritySummary[]> {
  const receivers: Receiver[] = ['encrypted', 'plaintext']
  if (cometbftReceiverAvailable()) receivers.push('cometbft')
  else console.log('(priority bench: CometBFT receiver skipped: build interop/cometbft-peer with Go first)')
  const all: PriorityFigures[][] = []
  for (let run = 0; run < o.runs; run++) {
    for (const r of receivers) {
      const figures = await priorityRun(r, o)
      for (const f of figures) {
        const { errors, ...rest } = f
        console.log(JSON.stringify({ bench: 'priority under load', run, ...rest, errors: errors.length, firstError: errors[0] }))
      }
      all.push(figures)
    }
  }
  const summaries = receivers.map(receiver => {
    const runs = all.filter(fs => fs[0]!.receiver === receiver)
    const pick = (p: Phase, f: (x: PriorityFigures) => number): number[] => runs.map(fs => f(fs.find(x => x.phase === p)!))
    const ratio = (f: (fs: PriorityFigures[]) => number): number => med(runs.map(f))
    const get = (fs: PriorityFigures[], p: Phase): PriorityFigures => fs.find(x => x.phase === p)!
    const s: PrioritySummary = {
      receiver,
      idleUrgentP50ms: med(pick('idle', x => x.urgentP50ms)),
      pacedUrgentP50ms: med(pick('paced', x => x.urgentP50ms)),
      unpacedUrgentP50ms: med(pick('unpaced', x => x.urgentP50ms)),
      idleUrgentP99ms: med(pick('idle', x => x.urgentP99ms)),
      pacedUrgentP99ms: med(pick('paced', x => x.urgentP99ms)),
      unpacedUrgentP99ms: med(pick('unpaced', x => x.urgentP99ms)),
      idlePingP99ms: med(pick('idle', x => x.pingP99ms)),
      pacedPingP99ms: med(pick('paced', x => x.pingP99ms)),
      unpacedPingP99ms: med(pick('unpaced', x => x.pingP99ms)),
      pacedBulkMBs: med(pick('paced', x => x.bulkMBs)),
      unpacedBulkMBs: med(pick('unpaced', x => x.bulkMBs)),
      idleSenderLoopP99ms: med(pick('idle', x => x.senderLoopP99ms)),
      pacedSenderLoopP99ms: med(pick('paced', x => x.senderLoopP99ms)),
      unpacedSenderLoopP99ms: med(pick('unpaced', x => x.senderLoopP99ms)),
      pacedSenderCpuWaitShare: med(pick('paced', x => x.senderCpuWaitShare)),
      pacedReceiverCpuWaitShare: med(pick('paced', x => x.receiverCpuWaitShare)),
      urgentP99VsIdle: ratio(fs => get(fs, 'paced').urgentP99ms / get(fs, 'idle').urgentP99ms),
      pingP99VsIdle: ratio(fs => get(fs, 'paced').pingP99ms / get(fs, 'idle').pingP99ms),
      bulkVsUnpaced: ratio(fs => get(fs, 'paced').bulkMBs / get(fs, 'unpaced').bulkMBs),
      errors: runs.flat().reduce((n, x) => n + x.errors.length, 0)
    }
    console.log(JSON.stringify({ bench: 'priority under load (medians)', runs: o.runs, ...s }))
    return s
  })
  if (o.resultsDir !== undefined) saveResults(o.resultsDir, { options: o, summaries, figures: all.flat() })
  return summaries
}

function saveResults (dir: string, data: Record<string, unknown>): void {
  const date = new Date().toISOString()
  let commit = 'unknown'
  try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim() } catch {}
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `priority-${date.slice(0, 19).replace(/:/g, '')}-${commit}.json`)
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number)
  writeFileSync(file, JSON.stringify({ bench: 'priority under load', date, commit, node: process.version, cpus: cpus().length, loadavg: load, ...data }, null, 1) + '\n')
  console.log(`(priority bench: raw results in ${file})`)
}
