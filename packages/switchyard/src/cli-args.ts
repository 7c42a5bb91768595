/**
 * Command-line parsing for `switchyard`: one table of commands and their flags, parsed strictly by
 * node:util parseArgs (an unknown flag or a flag without its value is a usage error naming it), and
 * the help text of each command generated from the same table.
 */
import { parseArgs } from 'node:util'
import { DEFAULT_CHAIN_ID, P2P_FLAG_NAMES, type Overrides } from './config.js'
import { METRICS_LINES } from './cometbft-names.js'

/** A command line that cannot be run; `command` selects the help to point at. */
export class UsageError extends Error {
  readonly command: string | undefined
  constructor (message: string, command?: string) {
    super(message)
    this.name = 'UsageError'
    this.command = command
  }
}

interface Flag { type: 'string' | 'boolean', value?: string, help: string, hidden?: boolean }

export interface CommandSpec {
  name: string
  aliases?: string[]
  summary: string
  /** Positional arguments shown in the usage line, e.g. "ADDR"; their count must match. */
  args?: string[]
  flags: Record<string, Flag>
  notes?: string
}

const HOME: Record<string, Flag> = { home: { type: 'string', value: 'DIR', help: 'home folder (also $CMTHOME); a CometBFT home works as it is' } }
const HELP: Record<string, Flag> = { help: { type: 'boolean', help: 'show this help' } }

const P2P_FLAGS: Record<string, Flag> = Object.fromEntries(P2P_FLAG_NAMES.map(k => [`p2p.${k}`, { type: 'string', value: 'VALUE', help: '', hidden: true } satisfies Flag]))

export const COMMANDS: CommandSpec[] = [
  {
    name: 'seed',
    aliases: ['start'],
    summary: `run a PEX seed node (no --home and no ./switchyard-home: one is created, listening on 127.0.0.1:26656, chain ${DEFAULT_CHAIN_ID})`,
    flags: {
      ...HOME,
      'chain-id': { type: 'string', value: 'ID', help: 'network to serve (default: chain_id of config/genesis.json)' },
      moniker: { type: 'string', value: 'NAME', help: 'name shown to peers' },
      'node-key-file': { type: 'string', value: 'PATH', help: 'node key (default config/node_key.json)' },
      ...P2P_FLAGS,
      'metrics.laddr': { type: 'string', value: 'HOST:PORT', help: 'serve /metrics, /health (and /net_info on loopback); no host = 127.0.0.1' },
      'metrics.line': { type: 'string', value: 'LINE', help: `CometBFT metric names to write: ${METRICS_LINES.join(', ')} (default v0.40)` },
      'metrics.net_info': { type: 'string', value: 'auto|on|off', help: '/net_info (lists peer IPs): auto = only on a loopback listener' },
      'instrumentation.prometheus': { type: 'string', value: 'BOOL', help: '', hidden: true },
      'instrumentation.prometheus_listen_addr': { type: 'string', value: 'ADDR', help: '', hidden: true },
      'instrumentation.namespace': { type: 'string', value: 'NAME', help: '', hidden: true },
      'instrumentation.metrics_line': { type: 'string', value: 'LINE', help: '', hidden: true },
      'instrumentation.net_info': { type: 'string', value: 'MODE', help: '', hidden: true },
      'log-format': { type: 'string', value: 'plain|json', help: 'operator log format (default plain, or log_format in config.toml)' },
      'log-level': { type: 'string', value: 'LEVEL', help: 'debug, info, warn or error (default info, or log_level in config.toml)' },
      ...HELP
    },
    notes: `  --p2p.<key> VALUE          any [p2p] key of config.toml (docs/configuration.md), e.g.
                             --p2p.laddr tcp://0.0.0.0:26656  --p2p.seeds id@host:port,…
                             --p2p.external_address host:port  --p2p.seed_mode true
                             --p2p.ws_laddr ws://HOST:PORT (also listen for WebSocket peers, docs/transports.md)
  --instrumentation.<key> V  any [instrumentation] key of config.toml
Flags may be written with _ or - (--log_level, --p2p.addr-book-file).`
  },
  {
    name: 'init',
    summary: 'create a home folder: config/config.toml, config/node_key.json, config/genesis.json',
    flags: {
      ...HOME,
      'chain-id': { type: 'string', value: 'ID', help: `chain ID written to genesis.json (default ${DEFAULT_CHAIN_ID})` },
      moniker: { type: 'string', value: 'NAME', help: 'name shown to peers (default switchyard-seed)' },
      ...HELP
    }
  },
  {
    name: 'show-node-id',
    aliases: ['show_node_id'],
    summary: "print this node's ID",
    flags: { ...HOME, ...HELP }
  },
  {
    name: 'probe',
    summary: 'dial a node (ID@HOST:PORT, or ws://ID@HOST:PORT, wss://…), handshake, and say what it is or why it failed',
    args: ['ID@HOST:PORT'],
    flags: {
      'chain-id': { type: 'string', value: 'ID', help: 'network to present (default: the one the node announces)' },
      timeout: { type: 'string', value: 'DURATION', help: 'whole probe (default 5s)' },
      json: { type: 'boolean', help: 'print the result as JSON' },
      pex: { type: 'boolean', help: 'also ask for addresses' },
      ...HELP
    },
    notes: `exit codes: 0 ok · 2 usage · 10 refused · 11 TCP timeout · 12 unreachable · 13 handshake timeout
            14 handshake failed · 15 ID mismatch · 16 wrong network · 17 incompatible · 18 no pong`
  },
  {
    name: 'crawl',
    summary: 'walk a network through PEX and write network.json and report.html',
    flags: {
      seeds: { type: 'string', value: 'ID@HOST:PORT,…', help: 'where to start (required)' },
      'chain-id': { type: 'string', value: 'ID', help: 'network to crawl (default: the one the first seed announces)' },
      'max-nodes': { type: 'string', value: 'N', help: 'stop recording new node IDs after N (default 1000)' },
      concurrency: { type: 'string', value: 'N', help: 'probes at once (default 16)' },
      timeout: { type: 'string', value: 'DURATION', help: 'per probe (default 5s)' },
      out: { type: 'string', value: 'DIR', help: 'output folder, created if missing (default ./crawl)' },
      ...HELP
    }
  },
  { name: 'demo', summary: 'two nodes on 127.0.0.1: handshake, messages, stop', flags: { ...HELP } },
  { name: 'version', summary: 'print the version', flags: { ...HELP } },
  { name: 'help', summary: 'help on a command: switchyard help <command>', args: ['[COMMAND]'], flags: { ...HELP } }
]

export function findCommand (name: string): CommandSpec | undefined {
  return COMMANDS.find(c => c.name === name || c.aliases?.includes(name) === true)
}

export const USAGE = `usage: switchyard <command> [flags]        (switchyard <command> --help for its flags)

commands:
${COMMANDS.map(c => `  ${c.name.padEnd(14)} ${c.summary}`).join('\n')}

exit codes: 0 ok · 1 failure · 2 usage · 3 config · 4 node key · 5 listen address · 6 address book
probe: 10 refused · 11 TCP timeout · 12 unreachable · 13 handshake timeout · 14 handshake failed
       15 ID mismatch · 16 wrong network · 17 incompatible · 18 no pong`

export function commandHelp (c: CommandSpec): string {
  const shown = Object.entries(c.flags).filter(([, f]) => f.hidden !== true)
  const lines = shown.map(([name, f]) => {
    const left = `  --${name}${f.value !== undefined ? ` ${f.value}` : ''}`
    return left.length >= 29 ? `${left}\n${' '.repeat(29)}${f.help}` : `${left.padEnd(29)}${f.help}`
  })
  return [
    `usage: switchyard ${c.name}${c.args !== undefined ? ` ${c.args.join(' ')}` : ''}${shown.length > 1 ? ' [flags]' : ''}`,
    '',
    c.summary,
    ...(c.aliases !== undefined ? [`(also: ${c.aliases.join(', ')})`] : []),
    '',
    'flags:',
    ...lines,
    ...(c.notes !== undefined ? [c.notes] : [])
  ].join('\n')
}

export interface ParsedCommand {
  command: CommandSpec
  /** Flag values with names in config spelling ("chain_id", "p2p.addr_book_file"); no "home", no "help". */
  flags: Overrides
  home: string | undefined
  help: boolean
  positionals: string[]
}

const underscore = (name: string): string => name.replace(/-/g, '_')

/** Parses argv (without node and script); throws UsageError naming the offending flag or argument. */
export function parseCommandLine (argv: string[]): ParsedCommand {
  let [first, ...rest] = argv
  if (first === undefined || (first.startsWith('-') && !['--help', '-h', '--version'].includes(first))) {
    // `switchyard` and `switchyard --home x` run the seed (the README's `pnpm start`).
    rest = first === undefined ? [] : argv
    first = 'seed'
  }
  if (first === '--help' || first === '-h') first = 'help'
  if (first === '--version') first = 'version'
  const command = findCommand(first)
  if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(first)} (see switchyard help)`)

  // Both spellings of every flag (CometBFT mixes _ and -), and -h for help.
  const options: Record<string, { type: 'string' | 'boolean', short?: string }> = {}
  for (const [name, f] of Object.entries(command.flags)) {
    options[name] = { type: f.type, ...(name === 'help' ? { short: 'h' } : {}) }
    for (const alt of [name.replace(/_/g, '-'), underscore(name)]) if (alt !== name) options[alt] = { type: f.type }
  }
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: true })
  } catch (err) {
    throw new UsageError(describeParseError(command.name, err as Error & { code?: string }), command.name)
  }
  const flags: Overrides = {}
  let home: string | undefined
  let help = false
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value === undefined || Array.isArray(value)) continue
    if (name === 'help') { help = value === true; continue }
    if (name === 'home') { home = value as string; continue }
    flags[underscore(name)] = value
  }
  const positionals = parsed.positionals
  if (!help) {
    const want = command.args?.filter(a => !a.startsWith('[')).length ?? 0
    const max = command.args?.length ?? 0
    if (positionals.length > max) throw new UsageError(`switchyard ${command.name}: unexpected argument ${JSON.stringify(positionals[max])}`, command.name)
    if (positionals.length < want) throw new UsageError(`switchyard ${command.name}: missing ${command.args![positionals.length]} (switchyard ${command.name} ${command.args!.join(' ')})`, command.name)
  }
  return { command, flags, home, help, positionals }
}

/** parseArgs' errors, reworded to name the flag and the command once. */
function describeParseError (command: string, err: Error & { code?: string }): string {
  const flag = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1]
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `switchyard ${command}: unknown flag ${flag ?? err.message}`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /does not take an argument/.test(err.message)
        ? `switchyard ${command}: ${flag ?? 'a flag'} takes no value`
        : `switchyard ${command}: ${flag ?? 'a flag'} needs a value`
    default:
      return `switchyard ${command}: ${err.message}`
  }
}
