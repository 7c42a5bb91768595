/**
 * The bench's floor for the encrypted wire (bench/src/bare-frames.ts) runs end to end through
 * `pnpm bench`: its receiver, in a child process, opens every frame and verifies every byte, and the
 * summary reports each encrypted stack against it in the same run.
 */
import { describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { availableAeads } from '@switchyard/conn'
import { scaled } from '@switchyard/testing'

const root = fileURLToPath(new URL('../', import.meta.url))
// The best AEAD this machine has (the native addon wherever it builds, as in CI).
const aead = availableAeads()[0]!

describe('bench: bare frames', () => {
  it('moves verified bulk through the bare frames and reports MConnection against them in the same run', async () => {
    const out = mkdtempSync(join(tmpdir(), 'swy-frames-bench-'))
    try {
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, [`${root}bench/dist/run.js`, '--only', 'transports', '--kinds', `frames,secret:${aead}`, '--runs', '1', '--quick', '--out', out],
          { encoding: 'utf8', timeout: scaled(60_000), killSignal: 'SIGKILL' }, (err, so, se) => { if (err !== null) reject(new Error(`${err.message}\n${so}\n${se}`)); else resolve(so) })
      })
      const line = (name: string): Record<string, number> => JSON.parse(stdout.split('\n').find(l => l.startsWith(`{"bench":"${name}`))!) as Record<string, number>
      const frames = line('bare frames')
      expect(frames.bulkMBs).toBeGreaterThan(0)
      // A bulk floor only: no message-rate or round-trip figures that would mean nothing.
      expect(frames.msgsPerSec).toBeUndefined()
      const [file] = readdirSync(out)
      const summary = (JSON.parse(readFileSync(join(out, file!), 'utf8')) as { summary: Record<string, Record<string, number>> }).summary
      const mconn = summary[`MConnection encrypted (${aead})`]!
      expect(mconn.bulkOverBareFrames).toBeCloseTo(mconn.bulkMBs! / summary['bare frames (copy, seal, write; read, open), no MConnection']!.bulkMBs!, 6)
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  })
})
