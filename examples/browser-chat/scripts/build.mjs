#!/usr/bin/env node
/** Bundles the page (dist/page.js, from `tsc -b`) into public/app.js; prints its size as JSON. */
import { fileURLToPath } from 'node:url'
// Relative, not @switchyard/browser/build: vitest aliases @switchyard/browser to its sources.
import { bundle } from '../../../packages/browser/scripts/bundle.mjs'

const here = fileURLToPath(new URL('..', import.meta.url))

export async function buildPage () {
  return await bundle({ entry: `${here}dist/page.js`, outfile: `${here}public/app.js` })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(JSON.stringify(await buildPage()))
