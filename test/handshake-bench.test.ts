/**
 * The handshake benchmark survives what a listener does to dialers (refusing them) and never hangs:
 * dial failures are counted and reported, a dialer child that dies makes the run fail at once.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { scaled } from '@switchyard/testing'

const root = fileURLToPath(new URL('../', import.meta.url))

interface Figures { accepted: number, dialErrors: number, refused: number, perCpuSecond: number }

async function bench (extra: string[]): Promise<{ status: number, figures: Figures | undefined, stdout: string, stderr: string }> {
  const out = mkdtempSync(join(tmpdir(), 'swy-hs-bench-'))
  try {
    return await new Promise(resolve => {
      // A hung run is killed so the failure shows its output rather than a bare test timeout.
      execFile(process.execPath, [`${root}bench/dist/run.js`, '--only', 'handshake', '--runs', '1', '--quick', '--out', out, ...extra],
        { encoding: 'utf8', timeout: scaled(40_000), killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
          const line = stdout.split('\n').find(l => l.startsWith('{"bench":"handshakes'))
          const killed = (err as { killed?: boolean } | null)?.killed === true
          resolve({
            status: err === null ? 0 : killed ? -1 : Number((err as { code?: number }).code),
            figures: line !== undefined ? JSON.parse(line) as Figures : undefined,
            stdout,
            stderr: killed ? `${stderr}(killed: still running after ${scaled(40_000)} ms)\n` : stderr
          })
        })
    })
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}

describe('handshake bench', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', `${root}bench`], { stdio: 'inherit' })
  }, 120_000)

  it('dialers from one IP, most refused by the per-IP handshake limit: the run completes and counts the refusals', { timeout: 60_000 }, async () => {
    const r = await bench(['--handshake-sources', 'shared'])
    expect(r.stderr).toMatch(/^handshake bench: \d+ dials failed: \{.*"ECONNRESET".*\}\n$/)
    expect(r.status).toBe(0)
    expect(r.figures!.accepted).toBeGreaterThan(0)
    expect(r.figures!.refused).toBeGreaterThan(0)
    expect(r.figures!.dialErrors).toBeGreaterThan(0)
  })

  it('each dialer from its own loopback address: every dial is accepted, none refused', { timeout: 60_000 }, async () => {
    const r = await bench([])
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(r.figures!.accepted).toBeGreaterThan(0)
    expect(r.figures!.refused).toBe(0)
    expect(r.figures!.dialErrors).toBe(0)
  })

  it('a dialer child that exits before reporting rejects the run instead of hanging', async () => {
    const { dialFromChild } = await import('../bench/dist/dialers.js') as typeof import('../bench/src/dialers.js')
    let started = false
    // count 0 is refused by the child, which exits with code 2 without reporting.
    await expect(dialFromChild(1, 0, 100, () => { started = true })).rejects.toThrow(/dialer child exited \(code 2/)
    expect(started).toBe(false)
  })
})
