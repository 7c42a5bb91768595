/**
 * Globals Node code expects, injected into the browser bundle by esbuild (scripts/bundle.mjs):
 * Buffer (the `buffer` package), process (the `process` package: nextTick, an empty env) and
 * setImmediate (a MessageChannel task: no 4 ms clamp as setTimeout has once calls nest).
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
    ;(channel.port1 as unknown as { onmessage: () => void }).onmessage = runQueued
  }
  queue.push(() => { fn(...args) })
  channel.port2.postMessage(0)
  return 0
}

export { Buffer, process, setImmediate }
