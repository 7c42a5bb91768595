/**
 * Outbound dialing on behalf of the Switch: a capped queue of background dials (each after a
 * random delay, a few at a time) and the reconnect loop that redials a lost persistent peer on the
 * schedule of reconnect.ts. It does not connect anything itself: `dial` is the Switch's own dial().
 */
import createDebug from 'debug'
import PQueue from 'p-queue'
import type { SwitchyardError } from '@switchyard/wire'
import { DialQueueFullError } from './errors.js'
import { reconnectDelays, type ReconnectPolicy } from './reconnect.js'

const log = createDebug('switchyard:p2p:dialer')
const logError = createDebug('switchyard:p2p:dialer:error')

export interface DialerOptions {
  /** Dials one address; rejects with a typed error. */
  dial: (address: string, options: { persistent: boolean, signal?: AbortSignal }) => Promise<unknown>
  /** Whether the node is (still) connected to this ID; the reconnect loop stops once it is. */
  isConnected: (id: string) => boolean
  /** A background dial that failed, or one that was never queued (ERR_DIAL_QUEUE_FULL). */
  onFailure?: (address: string, error: unknown) => void
  reconnect: ReconnectPolicy
  /** Background dials start after a random delay up to this many ms (CometBFT: 3000). */
  jitter: number
  /** Background dials in flight at once (default 16). */
  concurrency?: number
  /** Background dials waiting to start; more are refused with ERR_DIAL_QUEUE_FULL (default 1000). */
  maxQueued?: number
  random?: () => number
}

/** The node ID of an id@host:port string ('' when there is none). */
export function idOf (address: string): string {
  const s = address.replace(/^[a-z]+:\/\//, '')
  const at = s.indexOf('@')
  return at > 0 ? s.slice(0, at) : ''
}

export class Dialer {
  private readonly o: DialerOptions
  private readonly queue: PQueue
  private readonly maxQueued: number
  private readonly reconnecting = new Map<string, AbortController>()
  private readonly stopController = new AbortController()
  private readonly random: () => number

  constructor (options: DialerOptions) {
    this.o = options
    this.queue = new PQueue({ concurrency: options.concurrency ?? 16 })
    this.maxQueued = options.maxQueued ?? 1000
    this.random = options.random ?? Math.random
    if (!(Number.isInteger(this.maxQueued) && this.maxQueued >= 1)) throw new RangeError(`maxDialQueue must be an integer >= 1, got ${String(options.maxQueued)}`)
  }

  /** Background dials waiting to start. */
  get queued (): number {
    return this.queue.size
  }

  /** Background dials running now. */
  get running (): number {
    return this.queue.pending
  }

  /** IDs with a reconnect loop running. */
  get reconnectingIds (): string[] {
    return [...this.reconnecting.keys()]
  }

  /**
   * Dials each address in the background after a random delay. Returns how many were queued; the
   * rest (queue full) are reported through onFailure with ERR_DIAL_QUEUE_FULL. A failed persistent
   * dial starts the reconnect loop.
   */
  enqueue (addresses: string[], options: { persistent?: boolean } = {}): number {
    const persistent = options.persistent === true
    let n = 0
    for (const address of addresses) {
      if (this.stopController.signal.aborted) break
      if (this.queue.size >= this.maxQueued) {
        this.fail(address, new DialQueueFullError(address, this.maxQueued))
        continue
      }
      n++
      void this.queue.add(async () => {
        await sleep(this.random() * this.o.jitter, this.stopController.signal)
        try {
          await this.o.dial(address, { persistent })
        } catch (err) {
          this.fail(address, err)
          if (persistent) this.reconnect(idOf(address), address)
        }
      }).catch(() => {}) // only the stop signal rejects here
    }
    return n
  }

  /** Redials `address` on the reconnect schedule until connected, refused as a duplicate, or out of tries. */
  reconnect (id: string, address: string): void {
    if (this.reconnecting.has(id) || this.stopController.signal.aborted) return
    const controller = new AbortController()
    const onStop = (): void => { controller.abort() }
    this.stopController.signal.addEventListener('abort', onStop, { once: true })
    this.reconnecting.set(id, controller)
    void (async () => {
      try {
        for (const delay of reconnectDelays(this.o.reconnect, this.random)) {
          await sleep(delay, controller.signal)
          if (this.o.isConnected(id)) return
          try {
            await this.o.dial(address, { persistent: true, signal: controller.signal })
            return
          } catch (err) {
            if ((err as SwitchyardError).code === 'ERR_DUPLICATE_PEER') return
            log('reconnect to %s failed: %s', id, (err as Error).message)
          }
        }
        logError('gave up reconnecting to persistent peer %s', id)
      } catch {
        // stopped
      } finally {
        this.reconnecting.delete(id)
        this.stopController.signal.removeEventListener('abort', onStop)
      }
    })()
  }

  /** Drops every waiting dial and ends every reconnect loop. */
  stop (): void {
    this.stopController.abort()
    this.queue.clear()
  }

  private fail (address: string, err: unknown): void {
    logError('dial %s failed: %s', address, (err as Error)?.message ?? String(err))
    this.o.onFailure?.(address, err)
  }
}

export async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) throw signal.reason
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve() }, ms)
    const onAbort = (): void => { clearTimeout(timer); reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
