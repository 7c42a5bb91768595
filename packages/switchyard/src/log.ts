/**
 * Operator logs on stderr: "plain" lines for people (time, level, message, key=value fields) or
 * one JSON object per line for machines. `debug` (DEBUG=switchyard:*) stays the developers' tool.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error'
const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 }

export interface Logger {
  debug: (msg: string, fields?: Record<string, unknown>) => void
  info: (msg: string, fields?: Record<string, unknown>) => void
  warn: (msg: string, fields?: Record<string, unknown>) => void
  error: (msg: string, fields?: Record<string, unknown>) => void
}

export function createLogger (format: 'plain' | 'json', level: Level = 'info', write: (line: string) => void = l => process.stderr.write(l + '\n')): Logger {
  const emit = (lvl: Level, msg: string, fields: Record<string, unknown> = {}): void => {
    if (RANK[lvl] < RANK[level]) return
    const ts = new Date().toISOString()
    if (format === 'json') {
      write(JSON.stringify({ ts, level: lvl, msg, ...fields }))
    } else {
      const kv = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`).join(' ')
      write(`${ts} ${lvl.toUpperCase().padEnd(5)} ${msg}${kv !== '' ? ' ' + kv : ''}`)
    }
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f)
  }
}
