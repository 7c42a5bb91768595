/**
 * Bounded fuzzing in CI: every decoder of untrusted input gets a few thousand random and mutated
 * inputs (fixed seeds, so a failure reproduces) and must only ever throw typed errors. Saved
 * regressions from long `pnpm fuzz` runs are replayed too.
 */
import { describe, expect, it } from 'vitest'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { check, mutate, rng, targets } from '../bench/src/fuzz-targets.js'

const regressions = fileURLToPath(new URL('./fuzz-regressions/', import.meta.url))

describe('fuzzing (bounded)', () => {
  for (const t of targets) {
    it(`${t.name}: 3,000 inputs, only typed errors`, () => {
      const r = rng(0x5eed + t.name.length)
      const problems: string[] = []
      for (let i = 0; i < 3000; i++) {
        const input = mutate(t.seeds, r)
        const p = check(t, input)
        if (p !== undefined) problems.push(`${p} on ${Buffer.from(input).toString('hex').slice(0, 80)}`)
      }
      expect(problems).toEqual([])
      // The seeds themselves are valid inputs.
      for (const s of t.seeds) expect(check(t, s)).toBeUndefined()
    })
    it(`${t.name}: saved regressions still pass`, () => {
      const dir = `${regressions}${t.name}/`
      const files = existsSync(dir) ? readdirSync(dir) : []
      for (const f of files) expect(check(t, readFileSync(dir + f)), f).toBeUndefined()
    })
  }
})
