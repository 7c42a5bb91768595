/**
 * Go's encoding/json time format (RFC 3339 with up to nanoseconds, trailing zeros trimmed) and its
 * zero time "0001-01-01T00:00:00Z". We keep times as Unix milliseconds, with 0 for Go's zero time.
 */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z'

export function formatGoTime (ms: number): string {
  if (ms === 0) return GO_ZERO_TIME
  const iso = new Date(ms).toISOString() // 2026-11-22T19:34:22.123Z
  const [whole, frac = '000Z'] = iso.split('.') as [string, string]
  const digits = frac.slice(0, 3).replace(/0+$/, '')
  return digits === '' ? `${whole}Z` : `${whole}.${digits}Z`
}

/** Parses an RFC 3339 time (any fraction length, Z or ±hh:mm); Go's zero time and years < 1970 give 0. */
export function parseGoTime (s: unknown): number {
  if (typeof s !== 'string') throw new Error(`expected a time string, got ${JSON.stringify(s)}`)
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(s)
  if (m === null) throw new Error(`not an RFC 3339 time: ${JSON.stringify(s)}`)
  if (Number(m[1]) < 1970) return 0
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${(m[7] ?? '0').padEnd(3, '0').slice(0, 3)}${m[8]}`)
  if (Number.isNaN(ms)) throw new Error(`not a valid time: ${JSON.stringify(s)}`)
  return ms
}
