import { defineConfig } from 'vitest/config'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// Tests import workspace packages from their TypeScript sources, so `vitest` needs no build step.
const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url))
const examplesDir = fileURLToPath(new URL('./examples/', import.meta.url))
const alias = Object.fromEntries([
  // packages/switchyard is published as @switchyard/cli (the bare name "switchyard" is taken on npm).
  ...readdirSync(packagesDir).map(name => [name === 'switchyard' ? '@switchyard/cli' : `@switchyard/${name}`, `${packagesDir}${name}/src/index.ts`]),
  ...readdirSync(examplesDir).map(name => [`@switchyard/example-${name}`, `${examplesDir}${name}/src/index.ts`])
])

// .ci/run asks for a JSON report too, to print the "N passed, N failed" line.
const jsonReport = process.env.SWITCHYARD_VITEST_JSON

export default defineConfig({
  resolve: { alias },
  test: {
    reporters: jsonReport !== undefined ? ['default', 'json'] : ['default'],
    ...(jsonReport !== undefined ? { outputFile: { json: jsonReport } } : {}),
    include: ['test/**/*.test.ts', 'interop/test/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    setupFiles: ['./test/setup-assertions.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks'
  }
})
