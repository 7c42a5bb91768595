/**
 * The browser bundle: built by scripts/bundle.mjs, within its stated min+gzip budget, free of Node
 * built-ins and native addons; and the Node build still resolves to the node:crypto / native
 * modules, never to the pure-JS ones meant for browsers.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('../../../', import.meta.url))
interface BundleResult { outfile: string, bytes: number, gzipBytes: number, budgetGzipBytes: number }
let result: BundleResult

describe('browser bundle', () => {
  beforeAll(async () => {
    // The suite normally runs after `tsc -b`; build what the bundle is made from if it has not been.
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', `${root}packages/browser`], { stdio: 'inherit' })
    const { bundle } = await import('../scripts/bundle.mjs') as { bundle: () => Promise<BundleResult> }
    result = await bundle()
  }, 120_000)

  it('stays within its min+gzip size budget', () => {
    console.log(`browser bundle: ${result.bytes} bytes minified, ${result.gzipBytes} bytes min+gzip (budget ${result.budgetGzipBytes})`)
    expect(result.gzipBytes).toBeGreaterThan(10_000) // it really holds the stack
    expect(result.gzipBytes).toBeLessThanOrEqual(result.budgetGzipBytes)
  })

  it('imports no Node built-in and loads no native addon', () => {
    const code = readFileSync(result.outfile, 'utf8')
    expect(code.match(/(?:from|import|require)\s*\(?\s*["']node:[a-z/_]+["']/g)).toBeNull()
    expect(code).not.toContain('sodium-native')
    expect(code).not.toContain('aead-native')
    expect(code).not.toContain('createRequire')
    // The browser crypto is in: noble's ChaCha20-Poly1305 and the swapped modules' error text.
    expect(code).toContain('@noble/ciphers')
  })

  it('the Node build of conn, p2p and transport-ws never reaches the pure-JS curves and ciphers', async () => {
    const r = await build({
      stdin: { contents: "export * from '@switchyard/conn'; export * from '@switchyard/p2p'; export * from '@switchyard/transport-ws'", resolveDir: `${root}packages/browser`, loader: 'js' },
      bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent', external: ['*.node']
    })
    const inputs = Object.keys(r.metafile.inputs)
    expect(inputs.some(p => p.endsWith('conn/dist/aead.js'))).toBe(true)
    expect(inputs.some(p => p.endsWith('conn/dist/handshake-crypto.js'))).toBe(true)
    expect(inputs.some(p => p.endsWith('p2p/dist/node-key-crypto.js'))).toBe(true)
    expect(inputs.filter(p => p.includes('.browser.js') || p.includes('@noble/curves') || p.includes('@noble/ciphers'))).toEqual([])
  })
})
