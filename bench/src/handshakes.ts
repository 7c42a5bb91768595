/**
 * Handshakes accepted per second of the listener's CPU time, through a Switch (admission, the
 * SecretConnection and NodeInfo exchange, peer start and removal), with the dialers in a child
 * process. Also the wall-clock rate, which on a shared 2-core machine depends on the dialers.
 * The listener keeps its production limits on handshakes in progress per IP (4); the dialers each
 * dial from their own loopback address (dialers.ts). Dials that fail are counted, not fatal.
 */
import { NodeKey, Reactor, Switch, channel } from '@switchyard/p2p'
import { dialFromChild, type DialJob } from './dialers.js'

class Idle extends Reactor {
  readonly channels = [channel({ id: 0x60, priority: 1 })]
}

export interface HandshakeFigures {
  perCpuSecond: number
  perSecond: number
  accepted: number
  listenerCpuMs: number
  /** Dials that failed at the dialers (any reason). */
  dialErrors: number
  /** Connections the listener closed before their handshake (every slot or the IP's share taken). */
  refused: number
  /** Inbound connections that failed their handshake or admission at the listener. */
  rejected: number
  /**
   * The measured window on the monotonic clock in µs (process.hrtime), the clock of V8's CPU
   * profiles: profile-shares.ts keeps only these samples of a `node --cpu-prof` run.
   */
  windowStartUs: number
  windowEndUs: number
}

export interface HandshakeBenchOptions {
  dialers?: number
  sources?: DialJob['sources']
  /** Print the dialers' failures by code to stderr. */
  verbose?: boolean
}

export async function handshakeRate (ms: number, options: HandshakeBenchOptions = {}): Promise<HandshakeFigures & { dialErrorsByCode: Record<string, number> }> {
  const dialers = options.dialers ?? 16
  const sw = new Switch({
    nodeKey: NodeKey.generate(), network: 'bench', moniker: 'listener', listenAddress: 'tcp://127.0.0.1:0',
    maxInboundPeers: 10_000, allowDuplicateIp: true
  })
  sw.addReactor('idle', new Idle())
  await sw.start()
  let accepted = 0
  let refused = 0
  let rejected = 0
  sw.on('peer:add', () => { accepted++ })
  sw.on('handshake:refused', () => { refused++ })
  sw.on('peer:rejected', ({ outbound }) => { if (!outbound) rejected++ })
  try {
    const port = Number(sw.address.split(':').pop())
    let cpu0 = process.cpuUsage()
    let t0 = performance.now()
    let windowStartUs = 0
    const dialed = await dialFromChild(port, dialers, ms, () => {
      accepted = refused = rejected = 0
      cpu0 = process.cpuUsage()
      t0 = performance.now()
      windowStartUs = Number(process.hrtime.bigint() / 1000n)
    }, { ...(options.sources !== undefined ? { sources: options.sources } : {}) })
    const windowEndUs = Number(process.hrtime.bigint() / 1000n)
    const seconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    const cpuMs = (cpu.user + cpu.system) / 1000
    const dialErrors = Object.values(dialed.errors).reduce((a, b) => a + b, 0)
    if (dialErrors > 0 && options.verbose !== false) console.error(`handshake bench: ${dialErrors} dials failed: ${JSON.stringify(dialed.errors)}`)
    if (dialed.completed === 0) throw new Error(`no dial completed a handshake (failures: ${JSON.stringify(dialed.errors)})`)
    if (accepted < dialed.completed * 0.9) throw new Error(`the listener accepted ${accepted} of ${dialed.completed} completed dials`)
    return { perCpuSecond: accepted / (cpuMs / 1000), perSecond: accepted / seconds, accepted, listenerCpuMs: cpuMs, dialErrors, refused, rejected, windowStartUs, windowEndUs, dialErrorsByCode: dialed.errors }
  } finally {
    await sw.stop()
  }
}
