import { beforeAll, describe, expect, it } from 'vitest'
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { CrawlResult } from '@switchyard/cli'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const cli = `${root}packages/switchyard/dist/cli.js`

/** The shell block after `<!-- recipe: NAME -->` in a doc, exactly as written there. */
function recipe (doc: string, name: string): string {
  const text = readFileSync(join(root, doc), 'utf8')
  const m = new RegExp(`<!-- recipe: ${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\\n\`\`\`\\n`).exec(text)
  if (m === null) throw new Error(`${doc} has no recipe "${name}"`)
  return m[1]!
}

describe('docs/seed-node.md: several nodes on one machine', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', `${root}packages/switchyard`], { stdio: 'inherit' })
  }, 120_000)

  it('the local-network recipe works as written: three nodes on one host find each other, no ERR_DUPLICATE_IP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swy-localnet-'))
    // `switchyard` on the PATH, as `npm install -g @switchyard/cli` would put it.
    const bin = mkdtempSync(join(tmpdir(), 'swy-bin-'))
    writeFileSync(join(bin, 'switchyard'), `#!/bin/sh\nexec "${process.execPath}" "${cli}" "$@"\n`)
    chmodSync(join(bin, 'switchyard'), 0o755)
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'CMTHOME' && k !== 'DEBUG')), PATH: `${bin}:${process.env.PATH ?? ''}` }
    const script = recipe('docs/seed-node.md', 'local-network')
    const run = await new Promise<{ code: number | null, out: string, err: string }>(resolve => {
      const p = spawn('bash', ['-c', script], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      p.stdout.setEncoding('utf8').on('data', (t: string) => { out += t })
      p.stderr.setEncoding('utf8').on('data', (t: string) => { err += t })
      const timer = setTimeout(() => p.kill('SIGKILL'), 100_000)
      p.once('exit', code => { clearTimeout(timer); resolve({ code, out, err }) })
    })
    expect(run.code, run.err.slice(-2000)).toBe(0)
    expect(run.out, run.err.slice(-3000)).toMatch(/found \d+ · probed \d+ · reachable 3 · failed 0/)
    expect(run.err).not.toContain('ERR_DUPLICATE_IP')
    const network = JSON.parse(readFileSync(join(dir, 'localnet', 'network.json'), 'utf8')) as CrawlResult
    expect(network.chainId).toBe('localnet')
    expect(network.nodes.filter(n => n.reachable).map(n => n.nodeInfo?.moniker).sort()).toEqual(['node1', 'node2', 'node3'])
    // Every node stopped cleanly and saved its book.
    for (const n of [1, 2, 3]) expect(readFileSync(join(dir, `node${n}`, 'config', 'addrbook.json'), 'utf8')).toMatch(/"addrs"/)
  }, 120_000)
})
