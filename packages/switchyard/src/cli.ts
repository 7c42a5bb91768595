#!/usr/bin/env node
/**
 * The `switchyard` command. Exit codes: 0 ok, 1 unexpected failure, 2 usage, 3 configuration,
 * 4 node key, 5 an address that cannot be listened on, 6 address book (docs/seed-node.md).
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { loadNodeKey, SWITCHYARD_VERSION } from '@switchyard/p2p'
import { ConfigError, loadConfig, homePath, parseDuration, DEFAULT_CHAIN_ID, type Overrides } from './config.js'
import { probe } from './probe.js'
import { runCrawl } from './crawl-command.js'
import { runDemo } from './demo.js'
import { init } from './init.js'
import { createLogger } from './log.js'
import { EXIT, ExitError, runSeed } from './seed.js'

const USAGE = `usage: switchyard <command> [flags]

commands:
  seed           run a PEX seed node (default: ./switchyard-home, 127.0.0.1:26656, chain ${DEFAULT_CHAIN_ID})
  init           create a home folder: config/config.toml, config/node_key.json, config/genesis.json
  show-node-id   print this node's ID
  probe ADDR     dial id@host:port, handshake, and say what it is or why it failed
                 [--chain-id ID] [--timeout 5s] [--json] [--pex]
  crawl          walk a network through PEX and write network.json and report.html
                 --seeds id@host:port,… [--chain-id ID] [--max-nodes 1000] [--concurrency 16]
                 [--timeout 5s] [--out DIR]
  demo           two nodes on 127.0.0.1: handshake, messages, stop
  version        print the version

flags:
  --home DIR                 home folder (also CMTHOME); CometBFT homes work as they are
  --chain-id ID              network to join (default: genesis.json chain_id)
  --moniker NAME
  --p2p.<key> VALUE          any [p2p] key of config.toml, e.g. --p2p.laddr tcp://0.0.0.0:26656,
                             --p2p.seeds id@host:port,…  --p2p.external_address host:port
  --metrics.laddr HOST:PORT  serve /metrics, /health and /net_info
  --log-format plain|json    --log-level debug|info|error

exit codes: 0 ok · 1 failure · 2 usage · 3 config · 4 node key · 5 listen address · 6 address book
probe: 10 refused · 11 TCP timeout · 12 unreachable · 13 handshake timeout · 14 handshake failed
       15 ID mismatch · 16 wrong network · 17 incompatible · 18 no pong`

interface Parsed { command: string, home: string | undefined, flags: Overrides, positional: string[] }

const VALUELESS = new Set(['help', 'h', 'version', 'json', 'pex'])

export function parseArgs (argv: string[]): Parsed {
  const [command = 'seed', ...rest] = argv
  const flags: Overrides = {}
  const positional: string[] = []
  let home: string | undefined
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!
    if (!arg.startsWith('-')) { positional.push(arg); continue }
    const body = arg.replace(/^--?/, '')
    const eq = body.indexOf('=')
    const name = (eq >= 0 ? body.slice(0, eq) : body).replace(/-/g, '_')
    let value: string | boolean
    if (eq >= 0) value = body.slice(eq + 1)
    else if (VALUELESS.has(name)) value = true
    else if (i + 1 < rest.length && !rest[i + 1]!.startsWith('--')) value = rest[++i]!
    else value = true
    if (name === 'home') {
      if (typeof value !== 'string') throw new ExitError(EXIT.usage, '--home needs a directory')
      home = value
    } else {
      flags[name] = value
    }
  }
  return { command, home, flags, positional }
}

async function main (argv: string[]): Promise<number> {
  const { command, home: homeFlag, flags, positional } = parseArgs(argv)
  if (positional.length > 0 && command !== 'probe') throw new ExitError(EXIT.usage, `unexpected argument ${JSON.stringify(positional[0])}`)
  if (command === 'help' || command === '--help' || command === '-h' || flags.help === true || flags.h === true) {
    console.log(USAGE)
    return EXIT.ok
  }
  if (command === 'version' || command === '--version') {
    console.log(SWITCHYARD_VERSION)
    return EXIT.ok
  }
  if (command === 'demo') {
    await runDemo()
    return EXIT.ok
  }
  if (command === 'crawl') return await runCrawl(flags)
  if (command === 'probe') {
    if (positional.length !== 1) throw new ExitError(EXIT.usage, 'probe needs exactly one address: switchyard probe <id@host:port>')
    let timeout = 5000
    if (typeof flags.timeout === 'string') {
      try { timeout = parseDuration(flags.timeout) } catch (err) { throw new ExitError(EXIT.usage, `--timeout: ${(err as Error).message}`) }
    }
    const result = await probe(positional[0]!, {
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
  throw new ExitError(EXIT.usage, `unknown command ${JSON.stringify(command)} (see switchyard help)`)
}

process.on('unhandledRejection', err => {
  console.error(`switchyard: unexpected failure: ${(err as Error)?.stack ?? String(err)}`)
  process.exit(EXIT.failure)
})

main(process.argv.slice(2)).then(code => { process.exitCode = code }, (err: unknown) => {
  if (err instanceof ExitError) {
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
