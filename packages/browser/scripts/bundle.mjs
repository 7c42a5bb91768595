#!/usr/bin/env node
/**
 * Builds the browser bundle (ESM, minified) from the compiled packages (run `tsc -b` first):
 *   node packages/browser/scripts/bundle.mjs [--entry file.js] [--out file.js]
 * Node built-ins are mapped to browser code: node:stream → readable-stream's Duplex, node:events → events,
 * Buffer → buffer, process → process (polyfill packages); node:net, node:dns/promises, node:fs,
 * node:path, node:crypto → the small shims in src/shims. The crypto that matters (handshake,
 * node key, AEAD) is swapped module-for-module through the packages' "browser" fields.
 * Prints {bytes, gzipBytes, budgetGzipBytes} as JSON and exits 1 when over the budget.
 */
import { build } from 'esbuild'
import { gzipSync } from 'node:zlib'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('..', import.meta.url))
const require = createRequire(import.meta.url)

/** The min+gzip budget of dist/switchyard.browser.js (measured, with headroom: docs/browser.md). */
export const BUDGET_GZIP_BYTES = 120 * 1024

const BUILTINS = {
  'node:stream': `${here}dist/shims/stream.js`,
  'node:events': require.resolve('events/'),
  'node:buffer': require.resolve('buffer/'),
  'node:net': `${here}dist/shims/net.js`,
  'node:dns/promises': `${here}dist/shims/dns-promises.js`,
  'node:fs': `${here}dist/shims/fs.js`,
  'node:path': `${here}dist/shims/path.js`,
  'node:crypto': `${here}dist/shims/crypto.js`
}

const nodeBuiltins = {
  name: 'switchyard-node-builtins',
  setup (b) {
    b.onResolve({ filter: /^node:/ }, args => {
      const path = BUILTINS[args.path]
      if (path === undefined) return { errors: [{ text: `${args.path} (imported by ${args.importer}) has no browser mapping` }] }
      return { path }
    })
    // Only Root.fromJSON and reflection are used (no .proto parsing): protobufjs's light build.
    b.onResolve({ filter: /^protobufjs$/ }, args => ({ path: createRequire(args.importer).resolve('protobufjs/light.js') }))
    // Bare names some polyfills use for each other.
    b.onResolve({ filter: /^(events|buffer|stream)$/ }, args => ({ path: require.resolve(args.path === 'stream' ? 'readable-stream' : `${args.path}/`) }))
  }
}

/** esbuild options for a browser bundle of `entry` (also used by examples/browser-chat). */
export function browserBuildOptions (entry, outfile, extra = {}) {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    mainFields: ['browser', 'module', 'main'],
    conditions: ['browser'],
    inject: [`${here}dist/shims/globals.js`],
    define: { global: 'globalThis', 'process.env.NODE_DEBUG': 'undefined' },
    plugins: [nodeBuiltins],
    logLevel: 'warning',
    ...extra
  }
}

export async function bundle ({ entry = `${here}dist/index.js`, outfile = `${here}dist/switchyard.browser.js` } = {}) {
  await build(browserBuildOptions(entry, outfile))
  const code = readFileSync(outfile)
  return { outfile, bytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length, budgetGzipBytes: BUDGET_GZIP_BYTES }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = name => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined }
  const result = await bundle({ ...(arg('--entry') ? { entry: arg('--entry') } : {}), ...(arg('--out') ? { outfile: arg('--out') } : {}) })
  console.log(JSON.stringify(result))
  if (result.gzipBytes > BUDGET_GZIP_BYTES) {
    console.error(`bundle is ${result.gzipBytes} bytes min+gzip, over the ${BUDGET_GZIP_BYTES}-byte budget`)
    process.exit(1)
  }
}
