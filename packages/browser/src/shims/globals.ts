/**
 * Globals Node code expects, injected into the browser bundle by esbuild (scripts/bundle.mjs):
 * Buffer (the `buffer` package), process (the `process` package: nextTick, an empty env) and
 * setImmediate (a MessageChannel task: no 4 ms clamp as setTimeout has once calls nest), and
 * setTimeout/setInterval returning Node-like handles (unref/ref/hasRef, which a page ignores).
 */
import { Buffer } from 'buffer'
import process from 'process/browser.js'

const queue: Array<() => void> = []
let channel: InstanceType<typeof MessageChannel> | undefined

function runQueued (): void {
  const n = queue.length
  for (let i = 0; i < n; i++) queue.shift()!()
}

function setImmediate (fn: (...args: unknown[]) => void, ...args: unknown[]): number {
  if (channel === undefined) {
    channel = new MessageChannel()
    const port = channel.port1 as unknown as { onmessage: () => void }
    port.onmessage = runQueued
  }
  queue.push(() => { fn(...args) })
  channel.port2.postMessage(0)
  return 0
}

/** A Node-style timer handle around a browser timer id. */
class TimerHandle {
  constructor (readonly id: number) {}
  unref (): this { return this }
  ref (): this { return this }
  hasRef (): boolean { return true }
  [Symbol.toPrimitive] (): number { return this.id }
}

const g = globalThis as unknown as {
  setTimeout: (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => number
  setInterval: (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => number
  clearTimeout: (id?: number) => void
  clearInterval: (id?: number) => void
}
const idOf = (t: unknown): number | undefined => t instanceof TimerHandle ? t.id : t as number | undefined

function setTimeoutShim (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): TimerHandle {
  return new TimerHandle(g.setTimeout(fn, ms, ...args))
}
function setIntervalShim (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): TimerHandle {
  return new TimerHandle(g.setInterval(fn, ms, ...args))
}
function clearTimeoutShim (t?: unknown): void { g.clearTimeout(idOf(t)) }
function clearIntervalShim (t?: unknown): void { g.clearInterval(idOf(t)) }

export {
  Buffer, process, setImmediate, setTimeoutShim as setTimeout, setIntervalShim as setInterval,
  clearTimeoutShim as clearTimeout, clearIntervalShim as clearInterval
}
