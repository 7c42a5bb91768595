import { describe, expect, it } from 'vitest'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
const read = (p: string): any => JSON.parse(readFileSync(`${root}${p}`, 'utf8'))
const license = readFileSync(`${root}LICENSE`, 'utf8')
const folders = readdirSync(`${root}packages`)

describe('published packages carry what npm and users need (docs/releasing.md)', () => {
  it('the root has the Apache-2.0 LICENSE its package.json names', () => {
    expect(read('package.json').license).toBe('Apache-2.0')
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/)
  })

  for (const dir of folders) {
    it(`packages/${dir}: license, LICENSE file, repository, files, engines, exports, public access`, () => {
      const pkg = read(`packages/${dir}/package.json`)
      expect(pkg.private).toBeUndefined()
      expect(pkg.name).toMatch(/^@switchyard\/[a-z0-9-]+$/)
      expect(pkg.license).toBe('Apache-2.0')
      expect(readFileSync(`${root}packages/${dir}/LICENSE`, 'utf8')).toBe(license)
      expect(pkg.repository).toMatchObject({ type: 'git', url: read('package.json').repository.url, directory: `packages/${dir}` })
      expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'src', '!**/*.tsbuildinfo']))
      expect(pkg.engines.node).toBe('>=20.19')
      expect(Object.keys(pkg.exports['.'])[0]).toBe('types')
      expect(pkg.publishConfig).toEqual({ access: 'public' })
    })
  }

  it('the CLI is @switchyard/cli with the bin `switchyard`, and the README\'s start script runs it', () => {
    const cli = read('packages/switchyard/package.json')
    expect(cli.name).toBe('@switchyard/cli')
    expect(cli.bin).toEqual({ switchyard: './dist/cli.js' })
    expect(readFileSync(`${root}packages/switchyard/src/cli.ts`, 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/)
    expect(read('package.json').scripts.start).toBe('tsc -b && node packages/switchyard/dist/cli.js seed')
    expect(existsSync(`${root}docs/releasing.md`)).toBe(true)
  })
})
