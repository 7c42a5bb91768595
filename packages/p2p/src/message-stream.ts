/**
 * Switch.messages(): a channel's messages as an async iterator with a bounded buffer. When the
 * buffer is full, push() returns a promise that holds the sending peer's queue (so that peer is
 * paused, not the others). The Switch ends every stream through its subscription when it stops
 * (no listener on a long-lived signal per iterator), and the iterator removes its listener from the
 * caller's signal when it ends — by return(), by that signal, or by the stop — so nothing is left behind.
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
  ch: Channel<T>, options: MessageStreamOptions, subscribe: (s: Subscriber) => (() => void) | undefined
): AsyncIterableIterator<Envelope<T>> {
  const limit = options.bufferSize ?? 64
  if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`bufferSize must be an integer >= 1, got ${String(options.bufferSize)}`)
  const buffer: Array<Envelope<T>> = []
  const spaceWaiters: Array<() => void> = []
  let wake: (() => void) | undefined
  let done = false
  const finish = (): void => {
    if (done) return
    done = true
    unsubscribe?.()
    options.signal?.removeEventListener('abort', finish)
    for (const w of spaceWaiters.splice(0)) w()
    wake?.()
  }
  // undefined: the Switch is stopped already, so the stream is over before it starts.
  const unsubscribe = subscribe({
    channelId: ch.id,
    push: env => {
      if (done) return
      buffer.push(env as Envelope<T>)
      wake?.()
      if (buffer.length >= limit) return new Promise<void>(resolve => spaceWaiters.push(resolve))
    },
    end: finish
  })
  if (unsubscribe === undefined || options.signal?.aborted === true) finish()
  else options.signal?.addEventListener('abort', finish, { once: true })
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
