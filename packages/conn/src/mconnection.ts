/**
 * MConnection: one byte stream to a peer carrying many prioritised channels, byte-compatible with
 * CometBFT (docs/protocol.md). Messages are cut into PacketMsgs of at most maxPacketMsgPayloadSize
 * bytes, scheduled across channels by recentlySent/priority, and reassembled per channel.
 *
 * Differences from CometBFT that keep the bytes identical:
 * - no flush timer by default: whatever is ready is coalesced into one write, and the loop writes
 *   again as soon as the stream accepts more (flushThrottle stays available for parity);
 * - the stream's back-pressure (write() false → 'drain') paces sending, so nothing buffers without
 *   bound; rate limits are optional token buckets that never sleep inside the I/O path;
 * - keep-alive is driven by timers of its own and never waits on a message handler.
 */
import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import createDebug from 'debug'
import {
  LengthDelimitedDecoder, PING_BYTES, PONG_BYTES, SwitchyardError, decodePacketInto, packetFields,
  delimitedPacketMsgSize, maxPacketSize, writeDelimitedPacketMsg, writeDelimitedPacketMsgHeader
} from '@switchyard/wire'
import { ChannelState, resolveChannel, type ChannelDescriptor } from './channel.js'
import { ReassemblyBudget } from './reassembly.js'
import {
  ConnectionClosedError, PEER_CLOSED, PongTimeoutError, StreamError, UnknownChannelError
} from './errors.js'
import { RateLimiter } from './rate-limiter.js'
import { copyFramed, isFramedWriter, type FramedWriter } from './frame-layout.js'
import { SendPacer, type SendPacerOptions, type SendPacerStatus } from './send-pacer.js'

const log = createDebug('switchyard:conn:mconn')
const logError = createDebug('switchyard:conn:mconn:error')

export interface MConnectionOptions {
  channels: ChannelDescriptor[]
  /** Largest data chunk per PacketMsg (CometBFT: 1024). Both peers must agree on the read limit. */
  maxPacketMsgPayloadSize?: number
  /** Bytes/s sent at most; 0 = unlimited (default; CometBFT's config default is 5,120,000). */
  sendRate?: number
  /** Bytes/s read at most; 0 = unlimited (default). Reading pauses, the peer sees back-pressure. */
  recvRate?: number
  /** Delay before writing what became ready after an idle period, in ms; 0 = none (default). */
  flushThrottle?: number
  /** Most bytes per stream write (default 64 KiB), which bounds how long a batch delays a ping. */
  maxWriteBytes?: number
  pingInterval?: number
  pongTimeout?: number
  /** How long send() waits for room in a full channel queue, in ms (CometBFT: 10 s). */
  sendTimeout?: number
  /** Most send() calls waiting for room per channel; beyond that send() resolves false at once. */
  maxPendingSends?: number
  /**
   * Bytes of unfinished messages held at once across all channels; more closes the connection with
   * ERR_REASSEMBLY_BUDGET (default: the sum of the channels' recvMessageCapacity).
   */
  maxReassemblyBytes?: number
  /**
   * Delay-based send pacing (send-pacer.ts): keeps the bytes queued below this connection near a
   * few ms of sending, so priorities hold while a channel saturates the link. On by default;
   * `false` turns it off (whatever the stream accepts is written at once).
   */
  pacing?: boolean | SendPacerOptions
}

export interface ChannelStatus {
  id: number
  priority: number
  sendQueueCapacity: number
  sendQueueSize: number
  waitingSends: number
  pendingBytes: number
  recentlySent: number
  bytesSent: number
  bytesReceived: number
  messagesSent: number
  messagesReceived: number
  /** Bytes allocated for the message being reassembled on this channel. */
  recvBufferBytes: number
}

export interface MConnectionStatus {
  durationMs: number
  bytesSent: number
  bytesReceived: number
  /** Bytes/s over the last stats period (2 s). */
  sendRate: number
  recvRate: number
  pingsSent: number
  pongsReceived: number
  /** Bytes held by unfinished messages across channels, and the limit (maxReassemblyBytes). */
  reassemblyBytes: number
  maxReassemblyBytes: number
  /** The pacer's state; undefined when pacing is off. */
  pacing: SendPacerStatus | undefined
  channels: ChannelStatus[]
}

export interface MConnectionEvents {
  /** A complete message; `data` is owned by the listener. */
  message: [channelId: number, data: Buffer]
  /** Emitted once. `error` is undefined after a local stop()/close(). */
  close: [error: SwitchyardError | undefined]
}

export interface SendOptions {
  signal?: AbortSignal
  /** Overrides the connection's sendTimeout for this call. */
  timeout?: number
}

const STATS_PERIOD_MS = 2000
/** Batches (of up to maxWriteBytes each) one event-loop turn may write before yielding to reads. */
const BATCHES_PER_TURN = 4
/** A turn starts no further batch once it has run this long, in ms. */
const TURN_BUDGET_MS = 1
const DECAY = 0.8

export class MConnection extends EventEmitter<MConnectionEvents> {
  readonly maxPayload: number
  /** Largest Packet body we accept from the peer. */
  readonly maxPacketSize: number
  private readonly stream: Duplex
  private readonly channels: ChannelState[]
  private readonly byId = new Map<number, ChannelState>()
  private readonly decoder: LengthDelimitedDecoder
  private readonly sendLimiter: RateLimiter
  private readonly recvLimiter: RateLimiter
  private readonly opts: Required<Omit<MConnectionOptions, 'channels' | 'maxReassemblyBytes' | 'pacing'>>
  private readonly reassembly: ReassemblyBudget
  private readonly pacer: SendPacer | undefined
  private readonly started = performance.now()
  /** Set when the stream seals frames itself: packets are then encoded straight into frame layout. */
  private readonly framed: FramedWriter | undefined
  private readonly header = new Uint8Array(32)
  /** The packet being handled, decoded without objects (decodePacketInto). */
  private readonly packet = packetFields()

  private writeScheduled = false
  private blocked = false
  private pendingPing = false
  private pendingPong = false
  private pendingBytesTotal = 0
  private pendingMessages = 0
  private bytesSent = 0
  private bytesReceived = 0
  private statsBytesSent = 0
  private statsBytesReceived = 0
  private sendRate = 0
  private recvRate = 0
  private pingsSent = 0
  private pongsReceived = 0

  private pingTimer: NodeJS.Timeout | undefined
  private pongTimer: NodeJS.Timeout | undefined
  private statsTimer: NodeJS.Timeout | undefined
  private throttleTimer: NodeJS.Timeout | undefined
  private limitTimer: NodeJS.Timeout | undefined
  private recvLimitTimer: NodeJS.Timeout | undefined

  private pingWaiters: Array<(rttMs: number) => void> = []
  private pingSentAt = 0
  /**
   * When the last batch that wrote anything began and ended being built, sealed and written
   * (performance.now()): a pong cannot be read while a batch runs, so that wait is ours, not a
   * queue at the peer (see ownDelayBeforePong).
   */
  private batchStartedAt = 0
  private batchEndedAt = 0
  /** Whether the read being processed already had a ping answered at once (see onPacket). */
  private pongSentThisRead = false
  /** A ping is on its way: peers may answer two pings with one pong, so we never send a second. */
  private pingInFlight = false
  private pausedByUser = false
  private pausedByLimiter = false
  private heldChunk: Uint8Array | undefined
  private stopping = false
  private closed = false
  private flushedResolve: (() => void) | undefined

  constructor (stream: Duplex, options: MConnectionOptions) {
    super()
    this.stream = stream
    this.framed = isFramedWriter(stream) ? stream : undefined
    const opts = {
      maxPacketMsgPayloadSize: options.maxPacketMsgPayloadSize ?? 1024,
      sendRate: options.sendRate ?? 0,
      recvRate: options.recvRate ?? 0,
      flushThrottle: options.flushThrottle ?? 0,
      maxWriteBytes: options.maxWriteBytes ?? 65536,
      pingInterval: options.pingInterval ?? 60_000,
      pongTimeout: options.pongTimeout ?? 45_000,
      sendTimeout: options.sendTimeout ?? 10_000,
      maxPendingSends: options.maxPendingSends ?? 1024
    }
    for (const [k, v] of Object.entries(opts)) {
      if (!(typeof v === 'number' && v >= 0 && Number.isFinite(v))) throw new RangeError(`MConnection option ${k} must be a finite number >= 0, got ${String(v)}`)
    }
    if (opts.maxPacketMsgPayloadSize < 1) throw new RangeError('MConnection option maxPacketMsgPayloadSize must be >= 1')
    if (opts.pongTimeout >= opts.pingInterval) throw new RangeError(`MConnection option pongTimeout (${opts.pongTimeout}) must be less than pingInterval (${opts.pingInterval})`)
    this.opts = opts
    const descs = options.channels.map(resolveChannel)
    const budget = options.maxReassemblyBytes ?? descs.reduce((a, d) => a + d.recvMessageCapacity, 0)
    if (!(budget >= 0 && Number.isFinite(budget))) throw new RangeError(`MConnection option maxReassemblyBytes must be a finite number >= 0, got ${String(budget)}`)
    this.reassembly = new ReassemblyBudget(budget)
    const pacing = options.pacing ?? true
    this.pacer = pacing === false ? undefined : new SendPacer(pacing === true ? {} : pacing)
    this.channels = descs.map(d => new ChannelState(d, this.reassembly))
    for (const ch of this.channels) {
      if (this.byId.has(ch.desc.id)) throw new RangeError(`duplicate channel id ${ch.desc.id}`)
      this.byId.set(ch.desc.id, ch)
    }
    this.maxPayload = opts.maxPacketMsgPayloadSize
    this.maxPacketSize = maxPacketSize(this.maxPayload, this.byId.keys())
    this.decoder = new LengthDelimitedDecoder(this.maxPacketSize, 'packet')
    this.sendLimiter = new RateLimiter(opts.sendRate)
    this.recvLimiter = new RateLimiter(opts.recvRate)

    stream.on('data', this.onData)
    stream.on('drain', this.onDrain)
    stream.on('end', this.onEnd)
    stream.on('error', this.onStreamError)
    stream.on('close', this.onStreamClose)
    // A handshake reader may have left the stream paused with bytes put back; start reading them.
    stream.resume()

    this.pingTimer = setInterval(this.onPingTick, opts.pingInterval)
    this.statsTimer = setInterval(this.onStatsTick, STATS_PERIOD_MS)
    this.statsTimer.unref()
    log('started with channels %o', this.channels.map(c => c.desc.id))
  }

  get isClosed (): boolean {
    return this.closed
  }

  hasChannel (id: number): boolean {
    return this.byId.has(id)
  }

  /**
   * Queues a message. Resolves true once it is queued; false when the channel is unknown, the
   * connection is stopping or closed, too many senders already wait, or no room was made within
   * the timeout (or before `signal` aborted).
   */
  send (channelId: number, msg: Uint8Array, options: SendOptions = {}): Promise<boolean> {
    const ch = this.sendableChannel(channelId)
    if (ch === undefined) return Promise.resolve(false)
    if (ch.enqueue(msg)) {
      this.queued(msg)
      return Promise.resolve(true)
    }
    if (ch.waiters.length >= this.opts.maxPendingSends || options.signal?.aborted === true) return Promise.resolve(false)
    return new Promise<boolean>(resolve => {
      const timeoutMs = options.timeout ?? this.opts.sendTimeout
      const finish = (queued: boolean): void => {
        clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
        if (queued) this.queued(msg)
        resolve(queued)
      }
      const waiter = { msg, done: finish }
      const giveUp = (): void => {
        const i = ch.waiters.indexOf(waiter)
        if (i >= 0) { ch.waiters.splice(i, 1); finish(false) }
      }
      const onAbort = giveUp
      const timer = setTimeout(giveUp, timeoutMs)
      options.signal?.addEventListener('abort', onAbort, { once: true })
      ch.waiters.push(waiter)
    })
  }

  /** Queues a message if there is room right now; never waits. */
  trySend (channelId: number, msg: Uint8Array): boolean {
    const ch = this.sendableChannel(channelId)
    if (ch === undefined || ch.waiters.length > 0 || !ch.enqueue(msg)) return false
    this.queued(msg)
    return true
  }

  /** Whether trySend on this channel would succeed now. */
  canSend (channelId: number): boolean {
    const ch = this.byId.get(channelId)
    return ch !== undefined && !this.stopping && !this.closed && ch.waiters.length === 0 &&
      ch.queue.length < ch.desc.sendQueueCapacity
  }

  /**
   * Sends a ping now and resolves with the round trip in ms when the pong arrives; rejects after
   * `timeoutMs` (the connection stays open). Used by operator tools to measure a peer.
   */
  async ping (timeoutMs = 5000): Promise<number> {
    if (this.closed) throw new ConnectionClosedError('the connection is closed')
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pingWaiters = this.pingWaiters.filter(w => w !== done)
        reject(new PongTimeoutError(timeoutMs))
      }, timeoutMs)
      const done = (rtt: number): void => { clearTimeout(timer); resolve(rtt) }
      this.pingWaiters.push(done)
      this.pendingPing = true
      this.scheduleWrite()
    })
  }

  /** Stops reading from the peer (back-pressure for a slow consumer); keep-alive timers keep running. */
  pause (): void {
    this.pausedByUser = true
    this.stream.pause()
  }

  resume (): void {
    if (!this.pausedByUser) return
    this.pausedByUser = false
    this.resumeReading()
  }

  /**
   * Graceful stop: refuses new messages, sends everything already queued, ends the stream and waits
   * for it to close. Gives up (and closes at once) after `timeout` ms or when `signal` aborts.
   */
  async stop (options: { signal?: AbortSignal, timeout?: number } = {}): Promise<void> {
    if (this.closed) return
    if (!this.stopping) {
      this.stopping = true
      for (const ch of this.channels) {
        for (const w of ch.waiters.splice(0)) w.done(false)
      }
      log('stopping: flushing %d bytes', this.pendingBytesTotal)
    }
    const flushed = new Promise<void>(resolve => { this.flushedResolve = resolve })
    this.checkFlushed()
    this.scheduleWrite()
    const timeoutMs = options.timeout ?? 10_000
    let timer: NodeJS.Timeout | undefined
    const giveUp = new Promise<void>(resolve => {
      timer = setTimeout(resolve, timeoutMs)
      options.signal?.addEventListener('abort', () => resolve(), { once: true })
    })
    await Promise.race([flushed.then(async () => {
      if (this.closed) return
      const streamClosed = new Promise<void>(resolve => this.stream.once('close', () => resolve()))
      this.stream.end()
      await streamClosed
    }), giveUp])
    clearTimeout(timer)
    this.close()
  }

  /** Closes at once, dropping anything queued. `error` is reported to 'close' listeners. */
  close (error?: SwitchyardError): void {
    if (this.closed) return
    this.closed = true
    this.stopping = true
    clearInterval(this.pingTimer)
    clearInterval(this.statsTimer)
    clearTimeout(this.pongTimer)
    clearTimeout(this.throttleTimer)
    clearTimeout(this.limitTimer)
    clearTimeout(this.recvLimitTimer)
    for (const ch of this.channels) {
      for (const w of ch.waiters.splice(0)) w.done(false)
      ch.queue.length = 0
      ch.sending = undefined
      ch.recv.reset()
    }
    this.stream.off('data', this.onData)
    this.stream.off('drain', this.onDrain)
    this.stream.off('end', this.onEnd)
    this.stream.off('close', this.onStreamClose)
    // Keep an error listener: a late socket error must never become an uncaught exception.
    this.stream.destroy()
    this.flushedResolve?.()
    if (error !== undefined) logError('closed: %s', error.message)
    else log('closed')
    this.emit('close', error)
  }

  status (): MConnectionStatus {
    return {
      durationMs: performance.now() - this.started,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
      sendRate: this.sendRate,
      recvRate: this.recvRate,
      pingsSent: this.pingsSent,
      pongsReceived: this.pongsReceived,
      reassemblyBytes: this.reassembly.used,
      maxReassemblyBytes: this.reassembly.limit,
      pacing: this.pacer?.status(this.bytesSent),
      channels: this.channels.map(c => ({
        id: c.desc.id,
        priority: c.desc.priority,
        sendQueueCapacity: c.desc.sendQueueCapacity,
        sendQueueSize: c.queue.length,
        waitingSends: c.waiters.length,
        pendingBytes: c.pendingBytes,
        recentlySent: c.recentlySent,
        bytesSent: c.bytesSent,
        bytesReceived: c.bytesReceived,
        messagesSent: c.messagesSent,
        messagesReceived: c.messagesReceived,
        recvBufferBytes: c.recv.allocated
      }))
    }
  }

  // ---- sending ----

  private sendableChannel (channelId: number): ChannelState | undefined {
    if (this.stopping || this.closed) return undefined
    const ch = this.byId.get(channelId)
    if (ch === undefined) log('send on unknown channel %d refused', channelId)
    return ch
  }

  /** Connection-wide accounting for a message the channel just accepted (enqueue counted its own). */
  private queued (msg: Uint8Array): void {
    this.pendingBytesTotal += msg.length
    this.pendingMessages++
    this.scheduleWrite()
  }

  private scheduleWrite (): void {
    if (this.writeScheduled || this.blocked || this.closed) return
    this.writeScheduled = true
    // Pings and pongs are flushed at once, as CometBFT does; only data waits for the throttle.
    if (this.opts.flushThrottle > 0 && !this.stopping && !this.pendingPing && !this.pendingPong) {
      this.throttleTimer = setTimeout(this.writeLoop, this.opts.flushThrottle)
    } else {
      setImmediate(this.writeLoop)
    }
  }

  /** The channel with data whose recentlySent/priority is least; ties go to the first registered. */
  private pickChannel (): ChannelState | undefined {
    let best: ChannelState | undefined
    let bestRatio = Infinity
    for (const ch of this.channels) {
      if (!ch.hasPending) continue
      const ratio = ch.recentlySent / ch.desc.priority
      if (ratio < bestRatio) { best = ch; bestRatio = ratio }
    }
    return best
  }

  /**
   * One event-loop turn of sending: up to BATCHES_PER_TURN batches while the stream takes them at
   * once and the turn is under TURN_BUDGET_MS. A turn per batch cost a bulk sender 5–22 % of its
   * throughput (docs/benchmarks.md); the time budget keeps a slow sealer (a browser tab spends ~3 ms
   * per 64 KiB) at one batch per turn, so timers and reads still run between its batches. The
   * pacer's allowance, checked before every batch, still bounds what is queued below us.
   */
  private readonly writeLoop = (): void => {
    this.writeScheduled = false
    const turnStart = performance.now()
    for (let i = 0; i < BATCHES_PER_TURN; i++) {
      if (!this.writeBatch(turnStart)) return
      if (this.opts.flushThrottle > 0 || performance.now() - turnStart >= TURN_BUDGET_MS) break
    }
    this.scheduleWrite()
  }

  /**
   * Builds and writes one batch. True when another could go at once: the stream took this one and
   * something is still pending (the caller writes it now or schedules a turn).
   */
  private writeBatch (turnStart: number): boolean {
    if (this.closed || this.blocked) return false
    const budget = this.sendLimiter.available()
    if (budget <= 0 && this.pendingMessages > 0 && !this.pendingPing && !this.pendingPong) {
      this.limitTimer = setTimeout(() => this.scheduleWrite(), this.sendLimiter.waitMs())
      return false
    }
    if (this.pingInFlight) this.pendingPing = false // its pong answers for this one too
    let paced = Infinity
    if (this.pacer !== undefined) {
      paced = this.pacer.allowance(this.bytesSent)
      if (this.pendingMessages > 0 && !this.pingInFlight && this.pacer.wantsProbe(this.bytesSent)) this.pendingPing = true
      if (paced <= 0 && this.pendingMessages > 0) this.pacer.limited()
      // Only data is waiting: the pong that reopens the window schedules the next write.
      if (paced <= 0 && !this.pendingPing && !this.pendingPong) return false
    }
    const cap = Math.max(0, Math.min(this.opts.maxWriteBytes, budget, paced))
    const pinging = this.pendingPing
    // Upper bound of what this batch can need: data plus ≤ 16 bytes of framing per packet.
    const packets = this.pendingMessages + Math.ceil(this.pendingBytesTotal / this.maxPayload)
    const size = Math.ceil(Math.min(this.pendingBytesTotal + 16 * packets, cap + this.maxPacketSize + 16)) + 6
    // Over a SecretConnection the batch is laid out as its frames (pos counts stream bytes).
    const framed = this.framed
    const buf = framed !== undefined ? framed.framedBuffer(size) : Buffer.allocUnsafe(size)
    let pos = 0
    if (this.pendingPong) { pos = this.put(buf, pos, PONG_BYTES); this.pendingPong = false }
    if (this.pendingPing) { pos = this.put(buf, pos, PING_BYTES); this.pendingPing = false; this.pingsSent++; this.pingSentAt = performance.now() }
    let dataBytes = 0
    const pingOffset = this.bytesSent + pos
    if (pinging) this.pingInFlight = true
    while (dataBytes < cap) {
      const ch = this.pickChannel()
      if (ch === undefined) break
      const msg = ch.sending ?? ch.next()!
      const start = ch.sendingOffset
      const end = Math.min(msg.length, start + this.maxPayload)
      const eof = end === msg.length
      // A waiter promoted by next() may bring bytes the size estimate did not include.
      if (pos + delimitedPacketMsgSize(ch.desc.id, eof, end - start) > size) break
      const before = pos
      if (framed !== undefined) {
        pos = copyFramed(buf, pos, this.header, 0, writeDelimitedPacketMsgHeader(this.header, 0, ch.desc.id, eof, end - start))
        pos = copyFramed(buf, pos, msg, start, end)
      } else {
        pos = writeDelimitedPacketMsg(buf, pos, ch.desc.id, eof, msg, start, end)
      }
      const n = pos - before
      dataBytes += n
      ch.recentlySent += n
      ch.bytesSent += n
      const chunk = end - start
      ch.pendingBytes -= chunk
      this.pendingBytesTotal -= chunk
      if (eof) {
        ch.sending = undefined
        ch.sendingOffset = 0
        ch.messagesSent++
        this.pendingMessages--
      } else {
        ch.sendingOffset = end
      }
    }
    if (pos > 0) {
      this.sendLimiter.spend(dataBytes)
      this.bytesSent += pos
      this.statsBytesSent += pos
      const ok = framed !== undefined ? framed.writeFramed(buf, pos) : this.stream.write(pos === buf.length ? buf : buf.subarray(0, pos))
      if (this.pacer !== undefined) {
        // A pong that arrives now waits for the whole turn, not just this batch: time it from the turn's start.
        this.batchStartedAt = turnStart
        this.batchEndedAt = performance.now()
        this.pacer.batchTook(this.batchEndedAt - turnStart)
        // The ping leaves when the batch is handed on: the time spent building it is ours.
        if (pinging) this.pacer.pingSent(pingOffset, this.batchEndedAt)
      }
      if (!ok) { this.blocked = true; return false }
    }
    if (this.pendingMessages > 0 || this.pendingPing || this.pendingPong) return true
    this.checkFlushed()
    return false
  }

  /**
   * How long a pong read at `now` waited behind our own last batch, at most: JavaScript could not
   * read it while that batch was being built, sealed and written, so that time (from the ping's
   * departure at the latest) is ours, not the peer's queue. If the pong in fact arrived after the
   * batch, the round trip is undercounted by one batch, which bounds the error by our own pace;
   * counting it instead made a sender whose batches are slow (a browser tab sealing in JavaScript,
   * a busy process) read its own busyness as a queue at the peer and shrink its window for nothing.
   */
  private ownDelayBeforePong (now: number): number {
    if (this.pacer === undefined || this.batchEndedAt > now) return 0
    return Math.max(0, this.batchEndedAt - Math.max(this.batchStartedAt, this.pacer.probeSentAt))
  }

  /** Copies a ping or pong into the batch. */
  private put (buf: Buffer, pos: number, bytes: Uint8Array): number {
    if (this.framed !== undefined) return copyFramed(buf, pos, bytes, 0, bytes.length)
    buf.set(bytes, pos)
    return pos + bytes.length
  }

  private checkFlushed (): void {
    if (this.stopping && this.pendingMessages === 0 && !this.blocked && this.flushedResolve !== undefined) {
      const r = this.flushedResolve
      this.flushedResolve = undefined
      r()
    }
  }

  private readonly onDrain = (): void => {
    this.blocked = false
    // Write the next batch at once: waiting for another event-loop turn leaves the link idle.
    if ((this.pendingMessages > 0 || this.pendingPing || this.pendingPong) && !this.writeScheduled && this.opts.flushThrottle === 0) this.writeLoop()
    else if (this.pendingMessages > 0 || this.pendingPing || this.pendingPong) this.scheduleWrite()
    else this.checkFlushed()
  }

  private readonly onPingTick = (): void => {
    this.pendingPing = true
    this.scheduleWrite()
    if (this.pongTimer === undefined) {
      this.pongTimer = setTimeout(() => this.close(new PongTimeoutError(this.opts.pongTimeout)), this.opts.pongTimeout)
    }
  }

  private readonly onStatsTick = (): void => {
    for (const ch of this.channels) ch.recentlySent = Math.floor(ch.recentlySent * DECAY)
    this.sendRate = this.statsBytesSent * 1000 / STATS_PERIOD_MS
    this.recvRate = this.statsBytesReceived * 1000 / STATS_PERIOD_MS
    this.statsBytesSent = 0
    this.statsBytesReceived = 0
  }

  // ---- receiving ----

  private readonly onData = (chunk: Buffer): void => {
    this.bytesReceived += chunk.length
    this.statsBytesReceived += chunk.length
    this.consume(chunk)
  }

  private consume (chunk: Uint8Array): void {
    let used: number
    this.pongSentThisRead = false
    try {
      used = this.decoder.pushSpans(chunk, this.onPacket)
    } catch (err) {
      this.close(err instanceof SwitchyardError ? err : new StreamError(err))
      return
    }
    if (this.closed) return
    if (used < chunk.length) {
      // The listener paused us mid-chunk: keep the rest until resume().
      this.heldChunk = chunk.subarray(used)
    }
    if (!this.recvLimiter.unlimited) {
      this.recvLimiter.spend(used)
      const wait = this.recvLimiter.waitMs()
      if (wait > 0 && !this.pausedByLimiter) {
        this.pausedByLimiter = true
        this.stream.pause()
        this.recvLimitTimer = setTimeout(() => {
          this.pausedByLimiter = false
          this.resumeReading()
        }, wait)
      }
    }
  }

  private resumeReading (): void {
    if (this.closed || this.pausedByUser || this.pausedByLimiter) return
    const held = this.heldChunk
    if (held !== undefined) {
      this.heldChunk = undefined
      this.consume(held)
      if (this.closed || this.pausedByUser || this.pausedByLimiter) return
    }
    this.stream.resume()
  }

  /**
   * One Packet, `buf[start, end)` of a read chunk this connection owns (or of the decoder's buffer
   * for a packet split across reads). Message data are copied into the channel's reassembly buffer,
   * or handed out as a view of the chunk when one packet is the whole message (reassembly.ts).
   */
  private readonly onPacket = (buf: Uint8Array, start: number, end: number): boolean => {
    if (this.closed) return false
    const packet = this.packet
    decodePacketInto(buf, start, end, packet)
    if (packet.type === 'ping') {
      this.pendingPong = true
      // Answered now, not after the rest of this read is processed: a read can hold megabytes
      // after the ping, and a late pong tells the sender's pacer of a queue that is not there (it
      // then idles, and so do we). Safe mid-read: a batch is whole packets, written in one call.
      // Once per read: further pings in it share one pong at the end of the read, as before (a
      // frame of ~340 pings must not cost us ~340 pong frames).
      if (!this.pongSentThisRead && !this.blocked && !this.closed) {
        this.pongSentThisRead = true
        // One batch (the pong first), not a whole turn: the rest of this read is still waiting.
        if (this.writeBatch(performance.now())) this.scheduleWrite()
      } else {
        this.scheduleWrite()
      }
      return true
    }
    if (packet.type === 'pong') {
      clearTimeout(this.pongTimer)
      this.pongTimer = undefined
      this.pongsReceived++
      this.pingInFlight = false
      const now = performance.now()
      if (this.pingWaiters.length > 0) {
        const rtt = now - this.pingSentAt
        for (const w of this.pingWaiters.splice(0)) w(rtt)
      }
      if (this.pacer !== undefined) {
        this.pacer.pongReceived(now, this.ownDelayBeforePong(now))
        if (this.pendingMessages > 0 || this.pendingPing) this.scheduleWrite()
      }
      return true
    }
    const ch = this.byId.get(packet.channelId)
    if (ch === undefined) throw new UnknownChannelError(packet.channelId)
    ch.bytesReceived += end - start
    if (!packet.eof) {
      // Copied into the channel's reassembly buffer: nothing keeps the read chunk alive.
      ch.recv.appendRange(buf, packet.dataStart, packet.dataEnd)
      return true
    }
    const msg = ch.recv.finishRange(buf, packet.dataStart, packet.dataEnd)
    ch.messagesReceived++
    this.emit('message', ch.desc.id, msg)
    return !this.pausedByUser && !this.closed
  }

  private readonly onEnd = (): void => {
    this.close(this.stopping ? undefined : PEER_CLOSED)
  }

  private readonly onStreamError = (err: Error): void => {
    if (err instanceof SwitchyardError) this.close(err)
    else this.close(new StreamError(err))
  }

  private readonly onStreamClose = (): void => {
    this.close(this.stopping ? undefined : PEER_CLOSED)
  }
}
