/**
 * One factor for every timing bound in the tests: SWITCHYARD_TEST_TIME_SCALE (default 1). A slow
 * or loaded CI machine sets it to 2 or 3 and every "within N ms" and wait timeout stretches alike;
 * the assertions themselves stay (a bound that is never checked proves nothing).
 */
export class TimeScaleError extends Error {
  constructor (value: string) {
    super(`SWITCHYARD_TEST_TIME_SCALE must be a number >= 1, got ${JSON.stringify(value)}`)
    this.name = 'TimeScaleError'
  }
}

/** The factor from the environment, read at each call (so a test can set it). */
export function timeScale (): number {
  const raw = process.env.SWITCHYARD_TEST_TIME_SCALE
  if (raw === undefined || raw === '') return 1
  const n = Number(raw)
  if (!(Number.isFinite(n) && n >= 1)) throw new TimeScaleError(raw)
  return n
}

/** `ms` stretched by the factor: use it for every timing bound and timeout in a test. */
export function scaled (ms: number): number {
  return ms * timeScale()
}
