/**
 * Switch.messages(): a channel's messages as an async iterator with a bounded buffer. When the
 * buffer is full, push() returns a promise that holds the sending peer's queue (so that peer is
 * paused, not the others). The iterator removes every listener it added when it ends — by
 * return(), by the caller's signal, or by the Switch stopping — so opening many leaves nothing behind.
 */
import type { Channel } from './channel.js'
import type { Envelope } from './reactor.js'
import type { Subscriber } from './router.js'

export interface MessageStreamOptions {
  signal?: AbortSignal
  /** Messages waiting for the consumer before the sender is paused (default 64). */
  bufferSize?: number
}

export function messageStream<T> (
  ch: Channel<T>, options: MessageStreamOptions, stopSignal: AbortSignal, subscribe: (s: Subscriber) => () => void
): AsyncIterableIterator<Envelope<T>> {
  const limit = options.bufferSize ?? 64
  if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`bufferSize must be an integer >= 1, got ${String(options.bufferSize)}`)
  const buffer: Array<Envelope<T>> = []
  const spaceWaiters: Array<() => void> = []
  let wake: (() => void) | undefined
  let done = false
  const unsubscribe = subscribe({
    channelId: ch.id,
    push: env => {
      if (done) return
      buffer.push(env as Envelope<T>)
      wake?.()
      if (buffer.length >= limit) return new Promise<void>(resolve => spaceWaiters.push(resolve))
    }
  })
  const finish = (): void => {
    if (done) return
    done = true
    unsubscribe()
    options.signal?.removeEventListener('abort', finish)
    stopSignal.removeEventListener('abort', finish)
    for (const w of spaceWaiters.splice(0)) w()
    wake?.()
  }
  if (options.signal?.aborted === true || stopSignal.aborted) {
    finish()
  } else {
    options.signal?.addEventListener('abort', finish, { once: true })
    stopSignal.addEventListener('abort', finish, { once: true })
  }
  const iterator: AsyncIterableIterator<Envelope<T>> = {
    [Symbol.asyncIterator]: () => iterator,
    next: async () => {
      while (buffer.length === 0 && !done) await new Promise<void>(resolve => { wake = resolve })
      const value = buffer.shift()
      if (value === undefined) return { done: true, value: undefined }
      spaceWaiters.shift()?.()
      return { done: false, value }
    },
    return: async () => { finish(); return { done: true, value: undefined } }
  }
  return iterator
}
