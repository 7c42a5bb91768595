import { describe, expect, it } from 'vitest'
import { runDemo } from '@switchyard/cli'

describe('the loopback demo', () => {
  it('handshakes two nodes and delivers every message', async () => {
    const lines: string[] = []
    const result = await runDemo(l => lines.push(l))
    expect(result.messages).toBe(4)
    expect(result.listenerId).toMatch(/^[0-9a-f]{40}$/)
    expect(lines.filter(l => l.startsWith('dialer got: echo: '))).toHaveLength(3)
    expect(lines.at(-1)).toBe('done: 4 messages delivered, both connections closed')
  })
})
