/**
 * Per-peer delivery to reactors. Synchronous handlers run at once; while an async handler is
 * pending, later messages from the same peer wait in a p-queue (concurrency 1 keeps their order).
 * When `limit` messages wait, `pause` is called (the peer's connection stops reading, so TCP pushes
 * back on that peer alone); `resume` is called once the queue has drained to half.
 */
import PQueue from 'p-queue'

export class InboundQueue {
  /** Made at the first async handler: most peers' reactors are synchronous and never need one. */
  private queue: PQueue | undefined
  private readonly limit: number
  private readonly pause: () => void
  private readonly resume: () => void
  private readonly onError: (err: unknown) => void
  private paused = false

  constructor (limit: number, pause: () => void, resume: () => void, onError: (err: unknown) => void) {
    this.limit = limit
    this.pause = pause
    this.resume = resume
    this.onError = onError
  }

  /** Messages waiting or being handled. */
  get depth (): number {
    return this.queue === undefined ? 0 : this.queue.size + this.queue.pending
  }

  private getQueue (): PQueue {
    if (this.queue === undefined) {
      const queue = this.queue = new PQueue({ concurrency: 1 })
      queue.on('next', () => {
        if (this.paused && queue.size + queue.pending <= this.limit / 2) {
          this.paused = false
          this.resume()
        }
      })
    }
    return this.queue
  }

  deliver (handle: () => void | Promise<void>): void {
    if (this.depth === 0) {
      let result: void | Promise<void>
      try {
        result = handle()
      } catch (err) {
        this.onError(err)
        return
      }
      if (result === undefined) return
      // Async: hold the queue's single slot until it settles, so later messages wait their turn.
      this.getQueue().add(async () => { await result }).catch(this.onError)
    } else {
      this.getQueue().add(async () => { await handle() }).catch(this.onError)
    }
    if (!this.paused && this.depth >= this.limit) {
      this.paused = true
      this.pause()
    }
  }

  clear (): void {
    this.queue?.clear()
  }
}
