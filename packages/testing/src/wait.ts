/** Waiting on conditions and events with a timeout — never on a fixed sleep. */
import type { EventEmitter } from 'node:events'
import { scaled } from './time-scale.js'

export class WaitTimeoutError extends Error {
  constructor (what: string, ms: number) {
    super(`timed out after ${ms} ms waiting for ${what}`)
    this.name = 'WaitTimeoutError'
  }
}

/** Resolves once `predicate()` is true (checked every few ms); rejects after `timeoutMs` (× SWITCHYARD_TEST_TIME_SCALE). */
export async function waitFor (predicate: () => boolean, options: { timeoutMs?: number, what?: string } = {}): Promise<void> {
  const timeoutMs = scaled(options.timeoutMs ?? 5000)
  const deadline = performance.now() + timeoutMs
  while (!predicate()) {
    if (performance.now() > deadline) throw new WaitTimeoutError(options.what ?? 'condition', timeoutMs)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

/** The arguments of the next `event` for which `filter` holds; rejects after `timeoutMs` (× SWITCHYARD_TEST_TIME_SCALE). */
export async function waitForEvent<A extends unknown[]> (
  emitter: EventEmitter, event: string, options: { filter?: (...args: A) => boolean, timeoutMs?: number } = {}
): Promise<A> {
  const timeoutMs = scaled(options.timeoutMs ?? 5000)
  return await new Promise<A>((resolve, reject) => {
    const on = (...args: unknown[]): void => {
      if (options.filter !== undefined && !options.filter(...args as A)) return
      clearTimeout(timer)
      emitter.off(event, on)
      resolve(args as A)
    }
    const timer = setTimeout(() => { emitter.off(event, on); reject(new WaitTimeoutError(`'${event}'`, timeoutMs)) }, timeoutMs)
    emitter.on(event, on)
  })
}
