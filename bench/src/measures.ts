/** The measures, each over any Link: bulk throughput, small-message rate, echo round trip. */
import type { Link, Side } from './links.js'

export interface Throughput { mbPerSec: number, seconds: number }
export interface Rate { msgsPerSec: number, seconds: number }
export interface Rtt { p50us: number, p99us: number }

function timeout<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([p, new Promise<T>((_r, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms) })])
    .finally(() => clearTimeout(timer))
}

/** Sends `total` bytes in `size`-byte messages from a to b; time until b has them all. */
export async function bulk (link: Link, size: number, total: number): Promise<Throughput> {
  const msg = new Uint8Array(size).fill(0xab)
  let received = 0
  const done = new Promise<void>(resolve => {
    link.b.onReceive(d => { received += d.length; if (received >= total) resolve() })
  })
  const t0 = performance.now()
  for (let sent = 0; sent < total; sent += size) {
    if (!link.a.send(msg)) await link.a.drained()
  }
  await timeout(done, 120_000, 'bulk')
  const seconds = (performance.now() - t0) / 1000
  return { mbPerSec: total / seconds / 1e6, seconds }
}

/** `count` messages of `size` bytes, each its own send; messages (bytes / size) per second. */
export async function messageRate (link: Link, size: number, count: number): Promise<Rate> {
  const r = await bulk(link, size, size * count)
  return { msgsPerSec: count / r.seconds, seconds: r.seconds }
}

/** b echoes what it gets; a sends `size` bytes and waits for them back, `iterations` times. */
export async function echoRtt (link: Link, size: number, iterations: number): Promise<Rtt> {
  link.b.onReceive(d => { link.b.send(d) })
  return await roundTrips(link.a, size, iterations)
}

/**
 * `side` sends `size` bytes and waits until as many came back, `iterations` times after 50 warm-up
 * ones; the other end must echo. Used for in-process links and for echoing child processes alike.
 */
export async function roundTrips (side: Side, size: number, iterations: number): Promise<Rtt> {
  let got = 0
  let wake: (() => void) | undefined
  side.onReceive(d => { got += d.length; if (got >= size) wake?.() })
  const msg = new Uint8Array(size).fill(0x5a)
  const samples: number[] = []
  for (let i = 0; i < iterations + 50; i++) {
    got = 0
    const back = new Promise<void>(resolve => { wake = resolve })
    const t0 = performance.now()
    side.send(msg)
    await timeout(back, 10_000, 'echo')
    if (i >= 50) samples.push((performance.now() - t0) * 1000) // the first 50 warm up
  }
  samples.sort((x, y) => x - y)
  const q = (p: number): number => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!
  return { p50us: q(0.5), p99us: q(0.99) }
}

export function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
