/**
 * The browser benchmark's protocol, shared by the page (bundled), the Node baseline sender and the
 * receiver child process: raw-byte channels for bulk data, echo, and the receiver's report.
 */
import { Reactor, channel, type Envelope, type Peer } from '@switchyard/p2p'

export const BulkChannel = channel({ id: 0x71, priority: 1, sendQueueCapacity: 64, recvMessageCapacity: 1 << 20 })
export const EchoChannel = channel({ id: 0x72, priority: 5, sendQueueCapacity: 16, recvMessageCapacity: 4096 })
/** Receiver → sender: JSON {received, mismatches, cpuMs} once `total` bytes arrived. */
export const ReportChannel = channel({ id: 0x73, priority: 5, sendQueueCapacity: 4, recvMessageCapacity: 4096 })

/** `pacing`: MConnection's delay-based send pacing (its default is on) on both ends. */
export interface BrowserBenchJob { size: number, total: number, seed: number, rtts: number, warmup: number, pacing: boolean }
export interface BrowserBenchResult {
  bulkMBps: number, received: number, mismatches: number, receiverCpuMs: number,
  rttP50Us: number, rttP99Us: number, rtts: number
}

/** Sender side: sends the seeded stream, then times echo round trips; runs in a page or in Node. */
export class BenchSender extends Reactor {
  readonly channels = [BulkChannel, EchoChannel, ReportChannel]
  private peerWaiter: ((p: Peer) => void) | undefined
  private reportWaiter: ((r: { received: number, mismatches: number, cpuMs: number }) => void) | undefined
  private echoWaiter: (() => void) | undefined

  override addPeer (peer: Peer): void { this.peerWaiter?.(peer) }

  override receive ({ channel: ch, message }: Envelope<Uint8Array>): void {
    const channelId = ch.id
    if (channelId === EchoChannel.id) this.echoWaiter?.()
    else if (channelId === ReportChannel.id) this.reportWaiter?.(JSON.parse(new TextDecoder().decode(message)))
  }

  async peer (): Promise<Peer> {
    const first = this.switch.peers.values().next().value
    if (first !== undefined) return first
    return await new Promise(resolve => { this.peerWaiter = resolve })
  }

  async run (job: BrowserBenchJob, stream: Uint8Array): Promise<BrowserBenchResult> {
    const peer = await this.peer()
    const report = new Promise<{ received: number, mismatches: number, cpuMs: number }>(resolve => { this.reportWaiter = resolve })
    const t0 = performance.now()
    // `stream` is patternBytes(job.size, seed, period): consecutive views, wrapping at the period.
    const period = stream.length - job.size
    let at = 0
    for (let sent = 0; sent < job.total; sent += job.size) {
      if (!await peer.send(BulkChannel, stream.subarray(at, at + job.size))) throw new Error('the receiver went away during the bulk phase')
      at += job.size
      if (at >= period) at -= period
    }
    const r = await report
    const seconds = (performance.now() - t0) / 1000
    const ping = new Uint8Array(100)
    const times: number[] = []
    for (let i = 0; i < job.warmup + job.rtts; i++) {
      const echoed = new Promise<void>(resolve => { this.echoWaiter = resolve })
      const s = performance.now()
      peer.trySend(EchoChannel, ping)
      await echoed
      if (i >= job.warmup) times.push((performance.now() - s) * 1000)
    }
    times.sort((a, b) => a - b)
    return {
      bulkMBps: r.received / 1e6 / seconds, received: r.received, mismatches: r.mismatches, receiverCpuMs: r.cpuMs,
      rttP50Us: times[Math.floor(times.length * 0.5)]!, rttP99Us: times[Math.floor(times.length * 0.99)]!, rtts: times.length
    }
  }
}

/**
 * The pattern of bench/src/pattern.ts without Buffer (the page uses it too): `period` bytes, then
 * the first `slack` of them again.
 */
export function patternBytes (slack: number, seed: number, period: number): Uint8Array {
  const buf = new Uint8Array(period + slack)
  let x = seed >>> 0 || 1
  for (let i = 0; i < period; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0
    buf[i] = x & 0xff
  }
  buf.copyWithin(period, 0, slack)
  return buf
}

/**
 * Seal and open MB/s (wall time) of 64 frames of 1028 bytes per call through the FrameAead batch
 * API the connection uses: the cipher's ceiling on whichever side runs it (page or Node).
 */
export function aeadWallMBs (create: (key: Uint8Array, name?: undefined, encrypt?: boolean) => FrameAeadLike, megabytes: number): { sealMBs: number, openMBs: number } {
  const FRAMES = 64
  const SEALED = 1044
  const key = new Uint8Array(32).fill(1)
  const sealer = create(key, undefined, true)
  const opener = create(key, undefined, false)
  const calls = Math.ceil(megabytes * 1e6 / (FRAMES * 1028))
  const buf = new Uint8Array(FRAMES * SEALED).fill(3)
  for (let i = 0; i < FRAMES; i++) { buf[i * SEALED] = 0; buf[i * SEALED + 1] = 4; buf[i * SEALED + 2] = 0; buf[i * SEALED + 3] = 0 }
  const bytes = calls * FRAMES * 1028
  let t0 = performance.now()
  for (let c = 0; c < calls; c++) sealer.sealFrames(buf, FRAMES, c * FRAMES, 0)
  const sealMBs = bytes / ((performance.now() - t0) / 1000) / 1e6
  const sealed = new Uint8Array(buf.length).fill(3)
  for (let i = 0; i < FRAMES; i++) { sealed[i * SEALED] = 0; sealed[i * SEALED + 1] = 4; sealed[i * SEALED + 2] = 0; sealed[i * SEALED + 3] = 0 }
  sealer.sealFrames(sealed, FRAMES, 0, 0)
  const work = new Uint8Array(sealed.length)
  t0 = performance.now()
  for (let c = 0; c < calls; c++) {
    work.set(sealed)
    if (opener.openFrames(work, FRAMES, 0, 0) !== FRAMES * 1024) throw new Error('open failed')
  }
  const openMBs = bytes / ((performance.now() - t0) / 1000) / 1e6
  return { sealMBs, openMBs }
}

export interface FrameAeadLike {
  readonly name: string
  sealFrames: (buf: Uint8Array, frames: number, lo: number, hi: number) => void
  openFrames: (buf: Uint8Array, frames: number, lo: number, hi: number) => number
}
