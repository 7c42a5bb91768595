/**
 * pnpm fuzz: long fuzz runs (default 1,000,000 inputs per decoder). Reports inputs tried, how many
 * reached the deep checks (past the MAC, the signature or the outer decode), the distinct outcomes
 * seen, crashes (an untyped exception), hangs (one input over 1 s) and runaway memory. Each failing
 * input is saved to test/fuzz-regressions/<target>/crash--<hash>.bin; with --save-corpus, so is
 * the first input of each outcome (<outcome>--<hash>.bin). test/fuzz.test.ts replays every file
 * and checks that it still ends in the outcome its name records.
 *
 *   node --expose-gc bench/dist/fuzz.js [--inputs 1000000] [--only packet,pex] [--seed 1] [--save-corpus]
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { check, mutate, rng, targets } from './fuzz-targets.js'

const args = process.argv.slice(2)
const arg = (name: string, dflt: string): string => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] ?? dflt : dflt }
const INPUTS = Number(arg('--inputs', '1000000'))
const ONLY = new Set(arg('--only', targets.map(t => t.name).join(',')).split(','))
const SEED = Number(arg('--seed', String(Date.now() % 1e9)))
const SAVE_CORPUS = args.includes('--save-corpus')
const regressions = fileURLToPath(new URL('../../test/fuzz-regressions/', import.meta.url))

function save (target: string, outcome: string, input: Uint8Array): string {
  const dir = `${regressions}${target}/`
  mkdirSync(dir, { recursive: true })
  const file = `${dir}${outcome.replace(/[^A-Za-z0-9_-]/g, '_')}--${createHash('sha256').update(input).digest('hex').slice(0, 16)}.bin`
  writeFileSync(file, input)
  return file
}

let failures = 0
for (const t of targets.filter(x => ONLY.has(x.name))) {
  const r = rng(SEED)
  const heap0 = process.memoryUsage().heapUsed
  let slowest = 0
  let heapMax = 0
  let found = 0
  let deep = 0
  const outcomes = new Map<string, number>()
  // With --save-corpus, one input per outcome the folder does not already hold.
  const dir = `${regressions}${t.name}/`
  const held = new Set(existsSync(dir) ? readdirSync(dir).map(f => f.split('--')[0]) : [])
  const t0 = performance.now()
  for (let i = 0; i < INPUTS; i++) {
    // Let the event loop run now and then: streams finish closing on later ticks, and a loop that
    // never yields would hold every closed stream and read as runaway memory.
    if (i % 1000 === 0) await new Promise(resolve => setImmediate(resolve))
    const input = mutate(t.seeds, r)
    const s = performance.now()
    const result = check(t, input)
    let problem = result.problem
    const ms = performance.now() - s
    if (result.deep) deep++
    outcomes.set(result.outcome, (outcomes.get(result.outcome) ?? 0) + 1)
    if (SAVE_CORPUS && problem === undefined && !held.has(result.outcome.replace(/[^A-Za-z0-9_-]/g, '_'))) {
      held.add(result.outcome.replace(/[^A-Za-z0-9_-]/g, '_'))
      save(t.name, result.outcome, input)
    }
    slowest = Math.max(slowest, ms)
    if (problem === undefined && ms > 1000) problem = `hang: ${ms.toFixed(0)} ms on one input`
    if (i % 50_000 === 0) {
      (globalThis as { gc?: () => void }).gc?.()
      const heap = process.memoryUsage().heapUsed - heap0
      heapMax = Math.max(heapMax, heap)
      if (heap > 1e9) problem ??= `memory: heap grew by ${(heap / 1e6).toFixed(0)} MB`
    }
    if (problem !== undefined) {
      found++
      const file = save(t.name, 'crash', input)
      console.error(`${t.name}: ${problem} — input saved to ${file}`)
      if (found >= 10) break
    }
  }
  failures += found
  console.log(JSON.stringify({ target: t.name, inputs: INPUTS, deep, deepShare: Number((deep / INPUTS).toFixed(3)), outcomes: Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])), seed: SEED, seconds: Number(((performance.now() - t0) / 1000).toFixed(1)), failures: found, slowestMs: Number(slowest.toFixed(2)), heapGrowthMB: Number((heapMax / 1e6).toFixed(1)) }))
}
process.exit(failures > 0 ? 1 : 0)
