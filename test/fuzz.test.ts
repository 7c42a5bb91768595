/**
 * Bounded fuzzing in CI: every decoder of untrusted input gets a few thousand mutated inputs
 * (fixed seeds, so a failure reproduces), must only ever throw typed errors, and must have some
 * of them reach its deep checks (past the MAC, the signature or the outer decode). The corpus
 * that `pnpm fuzz` found is replayed too: every target has one, and each file still ends in the
 * outcome its name records.
 */
import { describe, expect, it } from 'vitest'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { check, mutate, rng, targets } from '../bench/src/fuzz-targets.js'

const regressions = fileURLToPath(new URL('./fuzz-regressions/', import.meta.url))

/** Targets built to reach their deep checks: the share of inputs that must get there. */
const minDeepShare: Record<string, number> = { 'secret-frames-opened': 0.9, 'lan-announcement-signed': 0.05, 'secret-frames': 0.01 }

describe('fuzzing (bounded)', () => {
  for (const t of targets) {
    it(`${t.name}: 3,000 inputs, only typed errors, some reach the deep checks`, () => {
      const r = rng(0x5eed + t.name.length)
      const problems: string[] = []
      let deep = 0
      for (let i = 0; i < 3000; i++) {
        const input = mutate(t.seeds, r)
        const c = check(t, input)
        if (c.problem !== undefined) problems.push(`${c.problem} on ${Buffer.from(input).toString('hex').slice(0, 80)}`)
        if (c.deep) deep++
      }
      expect(problems).toEqual([])
      expect(deep).toBeGreaterThan(0)
      expect(deep / 3000).toBeGreaterThanOrEqual(minDeepShare[t.name] ?? 0)
      // The seeds are authentic inputs: they pass every check.
      for (const s of t.seeds.filter(x => x.length > 0)) expect(check(t, s)).toEqual({ outcome: 'ok', deep: true })
    })

    it(`${t.name}: the saved corpus replays to the outcomes it recorded`, () => {
      const dir = `${regressions}${t.name}/`
      const files = existsSync(dir) ? readdirSync(dir).filter(f => f.endsWith('.bin')) : []
      expect(files.length, `${dir} holds no saved inputs`).toBeGreaterThan(0)
      for (const f of files) {
        const c = check(t, readFileSync(dir + f))
        expect(c.problem, f).toBeUndefined()
        const recorded = f.split('--')[0]!
        if (recorded !== 'crash') expect(c.outcome.replace(/[^A-Za-z0-9_-]/g, '_'), f).toBe(recorded)
      }
    })
  }

  it('the LAN crash the fuzzer found is pinned as its own input (the empty datagram)', () => {
    const t = targets.find(x => x.name === 'lan-announcement')!
    const input = readFileSync(`${regressions}lan-announcement/crash--e3b0c44298fc1c14.bin`)
    expect(input.length).toBe(0)
    expect(check(t, input)).toEqual({ outcome: 'malformed', deep: false })
  })
})
