#!/usr/bin/env node
/**
 * The `switchyard` command. Exit codes: 0 ok, 1 unexpected failure, 2 usage, 3 configuration,
 * 4 node key, 5 an address that cannot be listened on, 6 address book (docs/seed-node.md).
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { loadNodeKey, SWITCHYARD_VERSION } from '@switchyard/p2p'
import { ConfigError, loadConfig, homePath, parseDuration } from './config.js'
import { USAGE, UsageError, commandHelp, findCommand, parseCommandLine } from './cli-args.js'
import { checkChainId, checkMoniker } from './validate.js'
import { probe } from './probe.js'
import { runCrawl } from './crawl-command.js'
import { runDemo } from './demo.js'
import { init } from './init.js'
import { createLogger } from './log.js'
import { EXIT, ExitError, runSeed } from './seed.js'

async function main (argv: string[]): Promise<number> {
  const { command: spec, flags, home: homeFlag, help, positionals } = parseCommandLine(argv)
  const command = spec.name
  if (command === 'help') {
    const about = positionals[0] !== undefined ? findCommand(positionals[0]) : undefined
    if (positionals[0] !== undefined && about === undefined) throw new UsageError(`unknown command ${JSON.stringify(positionals[0])} (see switchyard help)`)
    console.log(about !== undefined ? commandHelp(about) : USAGE)
    return EXIT.ok
  }
  if (help) {
    console.log(commandHelp(spec))
    return EXIT.ok
  }
  if (command === 'version') {
    console.log(SWITCHYARD_VERSION)
    return EXIT.ok
  }
  if (command === 'demo') {
    await runDemo()
    return EXIT.ok
  }
  if (command === 'crawl') return await runCrawl(flags)
  if (command === 'probe') {
    let timeout = 5000
    if (typeof flags.timeout === 'string') {
      try { timeout = parseDuration(flags.timeout) } catch (err) { throw new UsageError(`switchyard probe: --timeout: ${(err as Error).message}`, 'probe') }
      if (!(timeout > 0 && timeout <= 3_600_000)) throw new UsageError(`switchyard probe: --timeout must be more than 0 and at most 1h, got ${flags.timeout}`, 'probe')
    }
    const result = await probe(positionals[0]!, {
      timeout,
      pex: flags.pex === true,
      ...(typeof flags.chain_id === 'string' ? { chainId: flags.chain_id } : {})
    })
    if (flags.json === true) {
      const { nodeInfo, ...rest } = result
      console.log(JSON.stringify({ ...rest, ...(nodeInfo !== undefined ? { nodeInfo: { ...nodeInfo, channels: Buffer.from(nodeInfo.channels).toString('hex') } } : {}) }, null, 2))
    } else {
      (result.ok ? console.log : console.error)(result.ok ? result.message : `switchyard probe: ${result.message}`)
    }
    return result.exitCode
  }
  const explicitHome = homeFlag ?? (process.env.CMTHOME !== undefined && process.env.CMTHOME !== '' ? process.env.CMTHOME : undefined)
  const home = resolve(explicitHome ?? 'switchyard-home')

  if (command === 'init') {
    const chainId = typeof flags.chain_id === 'string' ? flags.chain_id : undefined
    const moniker = typeof flags.moniker === 'string' ? flags.moniker : undefined
    // The same rules as seed applies to config.toml: init never writes a config seed refuses.
    if (chainId !== undefined) checkChainId(`--chain-id`, chainId)
    if (moniker !== undefined) checkMoniker('--moniker', moniker)
    try {
      const { nodeKey, created } = await init({ home, ...(chainId !== undefined ? { chainId } : {}), ...(moniker !== undefined ? { moniker } : {}) })
      for (const f of created) console.log(`created ${f}`)
      console.log(`node ID: ${nodeKey.id}`)
      return EXIT.ok
    } catch (err) {
      throw new ExitError(EXIT.config, (err as Error).message, { cause: err })
    }
  }

  if (command === 'show-node-id' || command === 'show_node_id') {
    const cfg = loadConfig(home, {})
    try {
      console.log((await loadNodeKey(homePath(cfg, cfg.nodeKeyFile))).id)
    } catch (err) {
      throw new ExitError(EXIT.nodeKey, (err as Error).message, { cause: err })
    }
    return EXIT.ok
  }

  if (command === 'seed' || command === 'start') {
    if (explicitHome === undefined && !existsSync(join(home, 'config', 'config.toml'))) {
      // Safe defaults: loopback only, non-strict book (loopback addresses are all there is).
      await init({ home, laddr: 'tcp://127.0.0.1:26656', strict: false })
      console.log(`created a home folder at ${home}`)
    }
    const cfg = loadConfig(home, flags)
    const log = createLogger(cfg.logFormat, cfg.logLevel)
    const seed = await runSeed(cfg, log)
    let signals = 0
    // Handlers first, the address second: whoever reads the address may signal at once.
    const stopped = new Promise<void>(resolveStop => {
      const onSignal = (sig: NodeJS.Signals): void => {
        signals++
        if (signals === 2) {
          // Impatient operator: skip waiting for peers, but never exit without the book written.
          log.info('second signal: saving the address book and exiting now', { signal: sig })
          const code = 128 + (sig === 'SIGINT' ? 2 : 15)
          seed.saveBook().then(() => process.exit(code), err => { log.error('address book save failed', { reason: (err as Error).message }); process.exit(EXIT.failure) })
        }
        if (signals > 1) return
        log.info('signal received', { signal: sig })
        seed.stop().then(resolveStop, err => { log.error('stop failed', { reason: (err as Error).message }); process.exitCode = EXIT.failure; resolveStop() })
      }
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
    })
    console.log(`node ID: ${seed.sw.nodeKey.id}`)
    console.log(`address: ${seed.address}`)
    if (/@(0\.0\.0\.0|\[::\]):/.test(seed.address)) console.log('(listening on all interfaces: give others your public IP, or set p2p.external_address)')
    await stopped
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok
  }
  throw new UsageError(`unknown command ${JSON.stringify(command)} (see switchyard help)`)
}

process.on('unhandledRejection', err => {
  console.error(`switchyard: unexpected failure: ${(err as Error)?.stack ?? String(err)}`)
  process.exit(EXIT.failure)
})

main(process.argv.slice(2)).then(code => { process.exitCode = code }, (err: unknown) => {
  if (err instanceof UsageError) {
    console.error(`switchyard: ${err.message.replace(/^switchyard /, '')}`)
    if (err.command !== undefined) console.error(`(switchyard ${err.command} --help lists its flags)`)
    process.exitCode = EXIT.usage
  } else if (err instanceof ExitError) {
    console.error(`switchyard: ${err.message}`)
    process.exitCode = err.exitCode
  } else if (err instanceof ConfigError) {
    console.error(`switchyard: ${err.message}`)
    process.exitCode = EXIT.config
  } else {
    console.error(`switchyard: ${(err as Error)?.stack ?? String(err)}`)
    process.exitCode = EXIT.failure
  }
})
