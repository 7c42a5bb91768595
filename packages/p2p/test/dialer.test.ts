/** Dialer: the capped background dial queue and the reconnect schedule, with a fake dial function. */
import { describe, expect, it } from 'vitest'
import { SwitchyardError } from '@switchyard/wire'
import { waitFor } from '@switchyard/testing'
import { Dialer, idOf } from '../src/dialer.js'
import type { ReconnectPolicy } from '../src/reconnect.js'

const fast: ReconnectPolicy = { interval: 1, jitter: 0, tries: 3, backoffTries: 2, backoffBase: 1, maxDialPeriod: 0 }
const addr = (i: number): string => `${i.toString(16).padStart(40, '0')}@127.0.0.1:${1000 + i}`

describe('Dialer', () => {
  it('queues at most maxQueued waiting dials and refuses the rest with ERR_DIAL_QUEUE_FULL', async () => {
    const started: string[] = []
    const refused: string[] = []
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    const d = new Dialer({
      dial: async a => { started.push(a); await gate },
      isConnected: () => false,
      onFailure: (a, err) => { if ((err as SwitchyardError).code === 'ERR_DIAL_QUEUE_FULL') refused.push(a) },
      reconnect: fast, jitter: 0, concurrency: 1, maxQueued: 3
    })
    // The first starts at once (p-queue runs it synchronously), three wait, six are refused.
    const addresses = Array.from({ length: 10 }, (_, i) => addr(i))
    expect(d.enqueue(addresses)).toBe(4)
    expect(refused).toEqual(addresses.slice(4))
    expect(d.queued).toBe(3)
    release()
    await waitFor(() => started.length === 4, { what: 'the four queued dials' })
    expect(started).toEqual(addresses.slice(0, 4))
    d.stop()
  })

  it('redials a lost persistent peer exactly tries + backoffTries times, then gives up', async () => {
    let dials = 0
    const d = new Dialer({ dial: async () => { dials++; throw new SwitchyardError('ERR_DIAL_FAILED', 'refused') }, isConnected: () => false, reconnect: fast, jitter: 0 })
    d.reconnect('ab'.repeat(20), addr(1))
    expect(d.reconnectingIds).toEqual(['ab'.repeat(20)])
    d.reconnect('ab'.repeat(20), addr(1)) // a second call while one runs is ignored
    await waitFor(() => d.reconnectingIds.length === 0, { what: 'the reconnect loop to give up' })
    expect(dials).toBe(5)
  })

  it('stops redialing once a dial succeeds, or the peer is back, or it is a duplicate', async () => {
    for (const outcome of ['success', 'connected', 'duplicate'] as const) {
      let dials = 0
      const d = new Dialer({
        dial: async () => {
          dials++
          if (outcome === 'duplicate') throw new SwitchyardError('ERR_DUPLICATE_PEER', 'already connected')
          if (outcome === 'connected') throw new SwitchyardError('ERR_DIAL_FAILED', 'refused')
        },
        isConnected: () => outcome === 'connected' && dials >= 1,
        reconnect: fast, jitter: 0
      })
      d.reconnect('cd'.repeat(20), addr(2))
      await waitFor(() => d.reconnectingIds.length === 0, { what: `the loop to end (${outcome})` })
      expect(dials, outcome).toBe(1)
    }
  })

  it('stop() ends a reconnect loop in its wait and refuses new work', async () => {
    let dials = 0
    const d = new Dialer({ dial: async () => { dials++ }, isConnected: () => false, reconnect: { ...fast, interval: 60_000 }, jitter: 0 })
    d.reconnect('ef'.repeat(20), addr(3))
    d.stop()
    await waitFor(() => d.reconnectingIds.length === 0, { what: 'the loop to end' })
    expect(dials).toBe(0)
    expect(d.enqueue([addr(4)])).toBe(0)
  })

  it('a failed persistent background dial starts the reconnect loop for its ID', async () => {
    let dials = 0
    const d = new Dialer({ dial: async () => { dials++; throw new SwitchyardError('ERR_DIAL_FAILED', 'refused') }, isConnected: () => false, reconnect: { ...fast, tries: 1, backoffTries: 0 }, jitter: 0 })
    d.enqueue([addr(5)], { persistent: true })
    await waitFor(() => dials === 2 && d.reconnectingIds.length === 0, { what: 'the first dial and one redial' })
    expect(idOf(addr(5))).toBe(5..toString(16).padStart(40, '0'))
  })
})
