/**
 * Keeping operator logs readable under attack: a flood of refused connections becomes a few lines
 * and a periodic summary, and text a peer chose (its moniker) is cut to a printable, bounded form.
 */
import type { Logger } from './log.js'

/** Peer-chosen text for a log line: control characters escaped, at most `max` characters. */
export function boundText (s: string, max = 64): string {
  const clean = s.replace(/[^\x20-\x7e]/g, c => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
  return clean.length <= max ? clean : `${clean.slice(0, max)}…(${s.length} chars)`
}

export interface RateLimitedLog {
  /** Logs the line at INFO, unless `burst` lines were already logged in this window: then counts it. */
  info: (msg: string, fields: Record<string, unknown>, reason: string) => void
  stop: () => void
}

/**
 * At most `burst` lines per `windowMs`; what is held back is summed by reason and logged as one
 * line when the window ends ("N more … not logged one by one").
 */
export function rateLimitedLog (log: Logger, what: string, windowMs = 10_000, burst = 5): RateLimitedLog {
  let logged = 0
  let held = new Map<string, number>()
  let timer: NodeJS.Timeout | undefined
  const flush = (): void => {
    timer = undefined
    if (held.size > 0) {
      let total = 0
      for (const n of held.values()) total += n
      log.info(`${total} more ${what} in the last ${Math.round(windowMs / 1000)} s, not logged one by one`, { by_reason: Object.fromEntries(held) })
    }
    logged = 0
    held = new Map()
  }
  return {
    info: (msg, fields, reason) => {
      if (timer === undefined) {
        timer = setTimeout(flush, windowMs)
        timer.unref()
      }
      if (logged < burst) {
        logged++
        log.info(msg, fields)
      } else {
        held.set(reason, (held.get(reason) ?? 0) + 1)
      }
    },
    stop: () => {
      clearTimeout(timer)
      flush()
    }
  }
}
