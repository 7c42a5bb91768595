import { beforeAll, describe, expect, it } from 'vitest'
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AddrBook } from '@switchyard/pex'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const child = fileURLToPath(new URL('./fixtures/save-forever.mjs', import.meta.url))

describe('addrbook.json survives kill -9 during saves', () => {
  beforeAll(() => {
    // The child runs the compiled package; the suite normally runs after `tsc -b`.
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', `${root}packages/pex`], { stdio: 'inherit' })
  }, 120_000)

  it('is always the old or the new book, never a broken one (12 kills at random moments)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swy-crash-'))
    const path = join(dir, 'addrbook.json')
    let previous = 0
    for (let round = 0; round < 12; round++) {
      const proc = spawn(process.execPath, [child, path], { stdio: ['ignore', 'pipe', 'inherit'], cwd: `${root}packages/pex` })
      await new Promise<void>((resolve, reject) => {
        proc.stdout!.once('data', () => resolve())
        proc.once('exit', code => reject(new Error(`child exited early with ${code}`)))
      })
      // Let it save a few more times, then kill it mid-write at a random moment.
      await new Promise(resolve => setTimeout(resolve, 5 + Math.random() * 60))
      proc.kill('SIGKILL')
      await new Promise(resolve => proc.once('exit', resolve))
      const book = await AddrBook.load(path)
      expect(book.size).toBeGreaterThanOrEqual(previous)
      previous = book.size
      // Only the book itself is left (stale temp files are cleaned up on load).
      expect(readdirSync(dir)).toEqual(['addrbook.json'])
    }
    expect(previous).toBeGreaterThan(0)
  }, 60_000)
})
