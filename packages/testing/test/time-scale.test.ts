/** SWITCHYARD_TEST_TIME_SCALE stretches every timing bound and wait timeout alike. */
import { afterEach, describe, expect, it } from 'vitest'
import { TimeScaleError, WaitTimeoutError, scaled, timeScale, waitFor } from '@switchyard/testing'

const saved = process.env.SWITCHYARD_TEST_TIME_SCALE
afterEach(() => { if (saved === undefined) delete process.env.SWITCHYARD_TEST_TIME_SCALE; else process.env.SWITCHYARD_TEST_TIME_SCALE = saved })

describe('time scale', () => {
  it('is 1 when unset, and multiplies bounds when set', () => {
    delete process.env.SWITCHYARD_TEST_TIME_SCALE
    expect(scaled(1000)).toBe(1000)
    process.env.SWITCHYARD_TEST_TIME_SCALE = '2.5'
    expect(timeScale()).toBe(2.5)
    expect(scaled(1000)).toBe(2500)
  })

  it('refuses a factor below 1 or not a number', () => {
    for (const bad of ['0.5', 'fast', '-1', 'Infinity']) {
      process.env.SWITCHYARD_TEST_TIME_SCALE = bad
      expect(() => scaled(1), bad).toThrow(TimeScaleError)
    }
  })

  it('stretches waitFor\'s timeout', async () => {
    process.env.SWITCHYARD_TEST_TIME_SCALE = '3'
    const t0 = performance.now()
    const err = await waitFor(() => false, { timeoutMs: 20, what: 'never' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(WaitTimeoutError)
    expect((err as Error).message).toBe('timed out after 60 ms waiting for never')
    expect(performance.now() - t0).toBeGreaterThanOrEqual(59)
  })
})
