/**
 * The seed's verification settings in config.toml: the defaults `init` writes, and every key
 * reaching the running seed's PEX reactor.
 */
import { describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger, init, loadConfig, runSeed } from '@switchyard/cli'

describe('seed verification settings', () => {
  it('init writes the defaults (verified only, 1 h window, 30 s crawl hold) and the seed uses them', async () => {
    const home = mkdtempSync(join(tmpdir(), 'swy-verify-cfg-'))
    await init({ home, laddr: 'tcp://127.0.71.1:0', strict: false })
    const toml = readFileSync(join(home, 'config', 'config.toml'), 'utf8')
    expect(toml).toMatch(/^seed_serve_verified_only = true$/m)
    expect(toml).toMatch(/^seed_verified_window = "1h"$/m)
    expect(toml).toMatch(/^seed_crawl_hold = "30s"$/m)
    const cfg = loadConfig(home)
    expect(cfg.p2p).toMatchObject({ seedServeVerifiedOnly: true, seedVerifiedWindow: 3600_000, seedCrawlHold: 30_000, seedVerifyRate: 10, seedVerifyConcurrency: 8 })
    const seed = await runSeed(cfg, createLogger('plain', 'error', () => {}))
    try {
      expect(seed.pex.verificationSummary()).toMatchObject({ serve_verified_only: true, window_s: 3600, crawl_hold_s: 30 })
      expect(seed.pex.verifier).toBeDefined()
    } finally {
      await seed.stop()
    }
  })

  it('config.toml overrides reach the reactor', async () => {
    const home = mkdtempSync(join(tmpdir(), 'swy-verify-cfg-'))
    await init({ home, laddr: 'tcp://127.0.71.2:0', strict: false })
    const path = join(home, 'config', 'config.toml')
    writeFileSync(path, readFileSync(path, 'utf8')
      .replace('seed_serve_verified_only = true', 'seed_serve_verified_only = false')
      .replace('seed_verified_window = "1h"', 'seed_verified_window = "15m"')
      .replace('seed_crawl_hold = "30s"', 'seed_crawl_hold = "5m"'))
    const cfg = loadConfig(home)
    expect(cfg.p2p).toMatchObject({ seedServeVerifiedOnly: false, seedVerifiedWindow: 900_000, seedCrawlHold: 300_000 })
    const seed = await runSeed(cfg, createLogger('plain', 'error', () => {}))
    try {
      expect(seed.pex.verificationSummary()).toMatchObject({ serve_verified_only: false, window_s: 900, crawl_hold_s: 300 })
    } finally {
      await seed.stop()
    }
  })
})
