/** pnpm soak fails (exit 1) when messages are lost, and passes a clean short run. */
import { beforeAll, describe, expect, it } from 'vitest'
import { execFile, execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { scaled } from '@switchyard/testing'
import { soakVerdict } from '../bench/src/soak-verdict.js'

const root = fileURLToPath(new URL('../', import.meta.url))

async function soak (extra: string[]): Promise<{ status: number, stdout: string, stderr: string }> {
  return await new Promise(resolve => {
    // A run that hangs is killed, so the failure shows what it printed rather than a bare test timeout.
    execFile(process.execPath, ['--expose-gc', `${root}bench/dist/soak.js`, '--nodes', '4', '--minutes', String(scaled(0.05)), '--churn-every', '1000', ...extra], { encoding: 'utf8', timeout: scaled(40_000), killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const killed = (err as { killed?: boolean } | null)?.killed === true
      resolve({ status: err === null ? 0 : killed ? -1 : Number((err as { code?: number }).code), stdout, stderr: killed ? `${stderr}(killed: still running after ${scaled(40_000)} ms)\n` : stderr })
    })
  })
}

describe('soak verdict', () => {
  it('passes only a run that delivered messages and lost or duplicated none', () => {
    expect(soakVerdict({ messagesDelivered: 10, messagesLost: 0, duplicates: 0 })).toEqual({ ok: true, problems: [] })
    expect(soakVerdict({ messagesDelivered: 10, messagesLost: 1, duplicates: 0 })).toEqual({ ok: false, problems: ['1 messages lost on live connections'] })
    expect(soakVerdict({ messagesDelivered: 10, messagesLost: 0, duplicates: 2 }).ok).toBe(false)
    expect(soakVerdict({ messagesDelivered: 0, messagesLost: 0, duplicates: 0 }).ok).toBe(false)
  })
})

describe('pnpm soak', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', `${root}bench`], { stdio: 'inherit' })
  }, 120_000)

  // retry: one hang in about a dozen CI-loaded runs, not reproduced alone (docs/reliability.md).
  it('a clean 3-second run of 4 nodes exits 0 with messages delivered and none lost', { timeout: 60_000, retry: 1 }, async () => {
    const r = await soak([])
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    const report = JSON.parse(r.stdout.slice(r.stdout.indexOf('{\n'))) as { messagesDelivered: number, messagesLost: number }
    expect(report.messagesDelivered).toBeGreaterThan(0)
    expect(report.messagesLost).toBe(0)
  })

  it('a run with injected loss exits 1 and says how many were lost', async () => {
    const r = await soak(['--inject-loss', '10'])
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^soak FAILED: \d+ messages lost on live connections\n$/)
  }, 60_000)
})
