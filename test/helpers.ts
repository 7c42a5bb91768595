/** Helpers shared by the test suites: loopback socket pairs and waiting on events with a timeout. */
import net from 'node:net'
import type { EventEmitter } from 'node:events'
import { scaled } from '@switchyard/testing'

/** Two connected TCP sockets on 127.0.0.1. */
export async function socketPair (): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  const accepted = new Promise<net.Socket>(resolve => server.once('connection', resolve))
  const client = net.connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { client.once('connect', resolve); client.once('error', reject) })
  const server2 = await accepted
  server.close()
  client.setNoDelay(true)
  server2.setNoDelay(true)
  return [client, server2]
}

/** Resolves when `predicate` holds, polling on the event loop; rejects after `timeoutMs`. */
export async function waitFor (predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  timeoutMs = scaled(timeoutMs)
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

/** The arguments of the next `event`, or a rejection after `timeoutMs`. */
export async function nextEvent<T extends unknown[] = unknown[]> (emitter: EventEmitter, event: string, timeoutMs = 5000): Promise<T> {
  timeoutMs = scaled(timeoutMs)
  return await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => { emitter.off(event, on); reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`)) }, timeoutMs)
    const on = (...args: unknown[]): void => { clearTimeout(timer); resolve(args as T) }
    emitter.once(event, on)
  })
}

/** Collects every 'message' (channelId, data) an emitter reports. */
export function collectMessages (emitter: EventEmitter): Array<{ ch: number, data: Buffer }> {
  const got: Array<{ ch: number, data: Buffer }> = []
  emitter.on('message', (ch: number, data: Buffer) => got.push({ ch, data }))
  return got
}

/** Deterministic pseudo-random bytes (so failures reproduce). */
export function patternBytes (n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; b[i] = x & 0xff }
  return b
}
export { scaled } from '@switchyard/testing'
