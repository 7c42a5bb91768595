/**
 * Handshake load from a child process: `count` dialer loops, each connecting and running the full
 * upgrade (SecretConnection + NodeInfo) against the listener until the deadline, then closing.
 * Replies with the number completed and the failures by error code. Keeping the dialers in another
 * process lets the listener's CPU time be measured alone (process.cpuUsage of the listener's process).
 *
 * Source addresses: the listener admits at most 4 handshakes in progress per IP (Transport's
 * maxPendingHandshakesPerIp default), so 16 loops dialing from 127.0.0.1 would mostly be refused.
 * Each loop dials from its own loopback address instead (127.0.1.1, 127.0.1.2, …: Linux routes all
 * of 127.0.0.0/8 to lo), so the listener runs with its production limits.
 */
import net from 'node:net'
import { fork } from 'node:child_process'
import { NodeKey, makeNodeInfo, upgradeToPeer } from '@switchyard/p2p'

export interface DialJob {
  port: number
  count: number
  ms: number
  /** 'distinct': loop i dials from 127.0.1.(i+1); 'shared': every loop from 127.0.0.1. */
  sources: 'distinct' | 'shared'
  /** Milliseconds for one connect + upgrade before it counts as failed. */
  handshakeTimeout: number
}

export interface DialResult {
  /** Handshakes the dialers completed. */
  completed: number
  /** Failed attempts by error code (ECONNRESET, ERR_STREAM, ERR_HANDSHAKE_TIMEOUT, …). */
  errors: Record<string, number>
}

/** The source address of dialer loop `i`. */
export function dialerSource (i: number, sources: DialJob['sources']): string {
  return sources === 'shared' ? '127.0.0.1' : `127.0.1.${(i % 254) + 1}`
}

/**
 * Starts the child, waits until it is ready (modules loaded, keys made), calls `go` (where the
 * caller starts its clocks), lets the dialers run, and resolves with what they did. Rejects, never
 * hangs, when the child exits early or does not answer within the run time plus a grace period.
 */
export async function dialFromChild (port: number, count: number, ms: number, go: () => void, options: Partial<Pick<DialJob, 'sources' | 'handshakeTimeout'>> = {}): Promise<DialResult> {
  const job: DialJob = { port, count, ms, sources: options.sources ?? 'distinct', handshakeTimeout: options.handshakeTimeout ?? 5000 }
  // A listener profiled with --cpu-prof must not slow its dialers down with the same flags.
  const execArgv = process.execArgv.filter(a => !a.startsWith('--cpu-prof'))
  const child = fork(new URL(import.meta.url), ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv })
  // Setup (module load, key generation) plus the run plus one handshake timeout plus slack.
  const limit = 30_000 + ms + job.handshakeTimeout
  let timer: NodeJS.Timeout | undefined
  let onExit: ((code: number | null, signal: string | null) => void) | undefined
  let onError: ((err: Error) => void) | undefined
  let onMessage: ((m: unknown) => void) | undefined
  try {
    return await new Promise<DialResult>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`the dialer child gave no result within ${limit} ms`)), limit)
      onExit = (code, signal) => reject(new Error(`the dialer child exited (code ${String(code)}, signal ${String(signal)}) before it reported`))
      onError = err => reject(err)
      onMessage = m => {
        if (m === 'ready') { go(); child.send('go'); return }
        resolve(m as DialResult)
      }
      child.once('exit', onExit)
      child.once('error', onError)
      child.on('message', onMessage)
      child.send(job)
    })
  } finally {
    clearTimeout(timer)
    if (onExit !== undefined) child.off('exit', onExit)
    if (onError !== undefined) child.off('error', onError)
    if (onMessage !== undefined) child.off('message', onMessage)
    child.kill()
  }
}

function codeOf (err: unknown): string {
  const e = err as { code?: unknown, cause?: { code?: unknown } }
  // A stream error wraps the socket's errno (ERR_STREAM ← ECONNRESET): the errno says more.
  if (typeof e?.cause?.code === 'string') return e.cause.code
  return typeof e?.code === 'string' ? e.code : 'unknown'
}

async function connect (port: number, localAddress: string, timeout: number): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1', localAddress })
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { s.destroy(); reject(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })) }, timeout)
    s.once('connect', () => { clearTimeout(timer); s.off('error', reject); resolve(s) })
    s.once('error', err => { clearTimeout(timer); s.destroy(); reject(err) })
  })
}

async function dialLoops ({ port, count, ms, sources, handshakeTimeout }: DialJob): Promise<DialResult> {
  const dialers = Array.from({ length: count }, (_, i) => {
    const key = NodeKey.generate()
    return { key, source: dialerSource(i, sources), info: makeNodeInfo({ nodeId: key.id, network: 'bench', listenAddr: 'tcp://127.0.0.1:1', moniker: 'd', channels: [0x60] }) }
  })
  const started = new Promise(resolve => process.once('message', resolve))
  process.send!('ready')
  await started
  const deadline = performance.now() + ms
  const result: DialResult = { completed: 0, errors: {} }
  await Promise.all(dialers.map(async ({ key, info, source }) => {
    while (performance.now() < deadline) {
      try {
        const s = await connect(port, source, handshakeTimeout)
        s.on('error', () => {}) // reported through upgradeToPeer's rejection
        const p = await upgradeToPeer(s, { nodeKey: key, nodeInfo: info, timeout: handshakeTimeout })
        p.conn.destroy()
        result.completed++
      } catch (err) {
        const code = codeOf(err)
        result.errors[code] = (result.errors[code] ?? 0) + 1
        // A refused or reset dial returns at once: yield so a refusing listener is not hammered in a tight loop.
        await new Promise(resolve => setTimeout(resolve, 1))
      }
    }
  }))
  return result
}

if (process.argv.includes('--child')) {
  process.once('message', (job: DialJob) => {
    if (!(Number.isSafeInteger(job.count) && job.count >= 1 && job.count <= 254)) {
      console.error(`dialers: count must be 1..254, got ${String(job.count)}`)
      process.exit(2)
    }
    dialLoops(job).then(r => process.send!(r), err => { console.error(err); process.exit(1) })
  })
}
