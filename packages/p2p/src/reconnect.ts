/**
 * When a persistent peer is lost, how long to wait before each redial (CometBFT's schedule):
 * `tries` attempts `interval` apart, then `backoffTries` attempts waiting base·3^i (i = 1…), each
 * with up to `jitter` of random extra delay, each capped by `maxDialPeriod` when that is set.
 */
export interface ReconnectPolicy {
  interval: number
  jitter: number
  tries: number
  backoffTries: number
  /** Unit of the exponential phase: waits are backoffBase · 3^i ms. */
  backoffBase: number
  /** 0 = no cap. */
  maxDialPeriod: number
}

export const DEFAULT_RECONNECT: ReconnectPolicy = {
  interval: 5000,
  jitter: 3000,
  tries: 20,
  backoffTries: 10,
  backoffBase: 1000,
  maxDialPeriod: 0
}

export function * reconnectDelays (p: ReconnectPolicy, random: () => number = Math.random): Generator<number> {
  const cap = (ms: number): number => p.maxDialPeriod > 0 ? Math.min(ms, p.maxDialPeriod) : ms
  for (let i = 0; i < p.tries; i++) yield cap(p.interval + random() * p.jitter)
  for (let i = 1; i <= p.backoffTries; i++) yield cap(p.backoffBase * 3 ** i + random() * p.jitter)
}
