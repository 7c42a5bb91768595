#!/usr/bin/env node
/*
 * Compiles native/aead.c into build/aead.node at install time with the system C compiler and the
 * running Node's own headers. Optional by design: when there is no compiler, no headers or the
 * result does not load, it prints one line and exits 0 (Switchyard then seals frames with
 * sodium-native or node:crypto). SWITCHYARD_AEAD_NATIVE=skip skips the build.
 */
'use strict'
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const out = path.join(root, 'build', 'aead.node')

function skip (why) {
  try { fs.rmSync(out, { force: true }) } catch {}
  console.log(`@switchyard/aead-native: not built (${why}); frames will be sealed by sodium-native or node:crypto`)
  process.exit(0)
}

if (process.env.SWITCHYARD_AEAD_NATIVE === 'skip') skip('SWITCHYARD_AEAD_NATIVE=skip')
if (process.platform === 'win32') skip('no build recipe for Windows')

const includeDirs = [
  process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
  path.resolve(path.dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
  '/usr/local/include/node'
].filter(Boolean)
const include = includeDirs.find(d => fs.existsSync(path.join(d, 'node_api.h')))
if (include === undefined) skip(`Node's headers (node_api.h) not found in ${includeDirs.join(', ')}`)

const cc = process.env.CC || 'cc'
const args = [
  '-O2', '-fPIC', '-shared', '-std=c99', '-Wall', '-DNODE_GYP_MODULE_NAME=aead_native', '-D_GNU_SOURCE',
  `-I${include}`, path.join(root, 'native', 'aead.c'), '-o', out
]
// OpenSSL comes from the node process itself: leave its symbols unresolved until load.
if (process.platform === 'darwin') args.push('-undefined', 'dynamic_lookup')
else args.push('-ldl')
fs.mkdirSync(path.dirname(out), { recursive: true })
const built = spawnSync(cc, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, encoding: 'utf8' })
if (built.error !== undefined) skip(`${cc}: ${built.error.message}`)
if (built.status !== 0) skip(`${cc} failed: ${(built.stderr || '').trim().split('\n').slice(0, 3).join(' / ')}`)

// Load it in a fresh process, as the library will: a module that cannot load is removed.
const check = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(out)})`], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000, encoding: 'utf8' })
if (check.status !== 0) skip(`built but does not load: ${(check.stderr || '').trim().split('\n')[0]}`)
console.log(`@switchyard/aead-native: built ${path.relative(process.cwd(), out)} (OpenSSL EVP from the node process)`)
