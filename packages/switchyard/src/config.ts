/**
 * Configuration the way CometBFT operators have it: a home folder with config/config.toml
 * ([p2p] and [instrumentation] sections, top-level moniker and node_key_file), config/genesis.json
 * for the chain id, and flags with CometBFT's names that override the file.
 */
import { readFileSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { parse as parseToml, TomlError } from 'smol-toml'
import { SwitchyardError } from '@switchyard/wire'
import { DEFAULT_METRICS_LINE, METRICS_LINES, type MetricsLine } from './cometbft-names.js'
import { validateConfig } from './validate.js'

/** A config file or flag value that cannot be used; the message names the file or flag and key. */
export class ConfigError extends SwitchyardError {
  constructor (message: string, options?: { cause?: unknown }) {
    super('ERR_CONFIG', message, options)
  }
}

export const configErrorCodes = ['ERR_CONFIG'] as const

export interface P2PConfig {
  laddr: string
  externalAddress: string
  seeds: string[]
  persistentPeers: string[]
  bootstrapPeers: string[]
  addrBookFile: string
  addrBookStrict: boolean
  maxNumInboundPeers: number
  maxNumOutboundPeers: number
  unconditionalPeerIds: string[]
  privatePeerIds: string[]
  persistentPeersMaxDialPeriod: number
  flushThrottleTimeout: number
  maxPacketMsgPayloadSize: number
  sendRate: number
  recvRate: number
  pex: boolean
  seedMode: boolean
  allowDuplicateIp: boolean
  handshakeTimeout: number
  dialTimeout: number
  /** Switchyard's own keys: hostile-peer bounds (docs/reliability.md). */
  maxPendingHandshakesPerIp: number
  seedRequestTimeout: number
  addrBookMaxBans: number
  addrBookMaxBanDuration: number
  /** Switchyard's own keys: LAN discovery (docs/lan-discovery.md). */
  lanDiscovery: 'off' | 'multicast' | 'broadcast' | 'both'
  lanDiscoveryGroup: string
  lanDiscoveryPort: number
  lanDiscoveryInterface: string
  lanDiscoveryBroadcastAddress: string
  lanDiscoveryInterval: number
  /** Switchyard's own seed keys: verification and the crawl hold (docs/seed-node.md). */
  seedServeVerifiedOnly: boolean
  seedVerifiedWindow: number
  seedVerifyRate: number
  seedVerifyConcurrency: number
  seedCrawlHold: number
}

export interface SeedConfig {
  home: string
  moniker: string
  chainId: string
  nodeKeyFile: string
  p2p: P2PConfig
  instrumentation: {
    prometheus: boolean
    prometheusListenAddr: string
    namespace: string
    /** Which CometBFT line's metric names to write (docs/metrics.md). */
    metricsLine: MetricsLine
    /** /net_info: "auto" serves it only on a loopback listener. */
    netInfo: 'auto' | 'on' | 'off'
  }
  logFormat: 'plain' | 'json'
  logLevel: LogLevel
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
export type LogLevel = typeof LOG_LEVELS[number]

/**
 * CometBFT's log_level: a level ("info"), or per-module levels ("p2p:debug,*:error"), of which the
 * "*" entry (else "info") applies — Switchyard's logs are one module. Throws on anything else.
 */
export function parseLogLevel (where: string, v: unknown): LogLevel {
  const level = (x: string): LogLevel | undefined => (LOG_LEVELS as readonly string[]).includes(x) ? x as LogLevel : x === 'none' ? 'error' : undefined
  if (typeof v === 'string') {
    const plain = level(v.trim())
    if (plain !== undefined) return plain
    const parts = v.split(',').map(p => p.trim().split(':'))
    if (parts.length > 0 && parts.every(p => p.length === 2 && p[0] !== '' && level(p[1]!) !== undefined)) {
      const star = parts.find(p => p[0] === '*')
      return star !== undefined ? level(star[1]!)! : 'info'
    }
  }
  throw new ConfigError(`${where}: expected debug, info, warn or error (or CometBFT's "module:level,*:level"), got ${JSON.stringify(v)}`)
}

export const DEFAULT_CHAIN_ID = 'switchyard-local'

/** CometBFT's [p2p] defaults (v0.38). */
export function defaultP2P (): P2PConfig {
  return {
    laddr: 'tcp://0.0.0.0:26656',
    externalAddress: '',
    seeds: [],
    persistentPeers: [],
    bootstrapPeers: [],
    addrBookFile: 'config/addrbook.json',
    addrBookStrict: true,
    maxNumInboundPeers: 40,
    maxNumOutboundPeers: 10,
    unconditionalPeerIds: [],
    privatePeerIds: [],
    persistentPeersMaxDialPeriod: 0,
    flushThrottleTimeout: 100,
    maxPacketMsgPayloadSize: 1024,
    sendRate: 5_120_000,
    recvRate: 5_120_000,
    pex: true,
    seedMode: false,
    allowDuplicateIp: false,
    handshakeTimeout: 20_000,
    dialTimeout: 3000,
    maxPendingHandshakesPerIp: 4,
    seedRequestTimeout: 10_000,
    addrBookMaxBans: 4096,
    addrBookMaxBanDuration: 7 * 24 * 3_600_000,
    lanDiscovery: 'off',
    lanDiscoveryGroup: '235.5.5.11',
    lanDiscoveryPort: 8001,
    lanDiscoveryInterface: '',
    lanDiscoveryBroadcastAddress: '',
    lanDiscoveryInterval: 30_000,
    seedServeVerifiedOnly: true,
    seedVerifiedWindow: 3600_000,
    seedVerifyRate: 10,
    seedVerifyConcurrency: 8,
    seedCrawlHold: 30_000
  }
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Go duration syntax ("20s", "100ms", "1m30s", "0") in milliseconds. */
export function parseDuration (s: string): number {
  const t = s.trim()
  if (t === '0') return 0
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy
  let total = 0
  let matched = 0
  let m: RegExpExecArray | null
  while ((m = re.exec(t)) !== null) { total += Number(m[1]) * UNITS[m[2]!]!; matched += m[0].length }
  if (matched === 0 || matched !== t.length) throw new Error(`${JSON.stringify(s)} is not a duration (e.g. "20s", "100ms")`)
  return total
}

export function splitList (s: string): string[] {
  return s.split(',').map(x => x.trim()).filter(x => x !== '')
}

type Kind = 'string' | 'list' | 'bool' | 'int' | 'duration' | 'lan-mode'
/** config.toml [p2p] key → field and kind. */
const P2P_KEYS: Record<string, [keyof P2PConfig, Kind]> = {
  laddr: ['laddr', 'string'],
  external_address: ['externalAddress', 'string'],
  seeds: ['seeds', 'list'],
  persistent_peers: ['persistentPeers', 'list'],
  bootstrap_peers: ['bootstrapPeers', 'list'],
  addr_book_file: ['addrBookFile', 'string'],
  addr_book_strict: ['addrBookStrict', 'bool'],
  max_num_inbound_peers: ['maxNumInboundPeers', 'int'],
  max_num_outbound_peers: ['maxNumOutboundPeers', 'int'],
  unconditional_peer_ids: ['unconditionalPeerIds', 'list'],
  private_peer_ids: ['privatePeerIds', 'list'],
  persistent_peers_max_dial_period: ['persistentPeersMaxDialPeriod', 'duration'],
  flush_throttle_timeout: ['flushThrottleTimeout', 'duration'],
  max_packet_msg_payload_size: ['maxPacketMsgPayloadSize', 'int'],
  send_rate: ['sendRate', 'int'],
  recv_rate: ['recvRate', 'int'],
  pex: ['pex', 'bool'],
  seed_mode: ['seedMode', 'bool'],
  allow_duplicate_ip: ['allowDuplicateIp', 'bool'],
  handshake_timeout: ['handshakeTimeout', 'duration'],
  dial_timeout: ['dialTimeout', 'duration'],
  max_pending_handshakes_per_ip: ['maxPendingHandshakesPerIp', 'int'],
  seed_request_timeout: ['seedRequestTimeout', 'duration'],
  addr_book_max_bans: ['addrBookMaxBans', 'int'],
  addr_book_max_ban_duration: ['addrBookMaxBanDuration', 'duration'],
  lan_discovery: ['lanDiscovery', 'lan-mode'],
  lan_discovery_group: ['lanDiscoveryGroup', 'string'],
  lan_discovery_port: ['lanDiscoveryPort', 'int'],
  lan_discovery_interface: ['lanDiscoveryInterface', 'string'],
  lan_discovery_broadcast_address: ['lanDiscoveryBroadcastAddress', 'string'],
  lan_discovery_interval: ['lanDiscoveryInterval', 'duration'],
  seed_serve_verified_only: ['seedServeVerifiedOnly', 'bool'],
  seed_verified_window: ['seedVerifiedWindow', 'duration'],
  seed_verify_rate: ['seedVerifyRate', 'int'],
  seed_verify_concurrency: ['seedVerifyConcurrency', 'int'],
  seed_crawl_hold: ['seedCrawlHold', 'duration']
}

export const P2P_FLAG_NAMES = Object.keys(P2P_KEYS)

function convert (where: string, kind: Kind, v: unknown): unknown {
  const bad = (what: string): never => { throw new ConfigError(`${where}: expected ${what}, got ${JSON.stringify(v)}`) }
  switch (kind) {
    case 'string': return typeof v === 'string' ? v : bad('a string')
    case 'list': return typeof v === 'string' ? splitList(v) : Array.isArray(v) && v.every(x => typeof x === 'string') ? v : bad('a comma-separated string')
    case 'bool':
      if (typeof v === 'boolean') return v
      if (v === 'true') return true
      if (v === 'false') return false
      return bad('true or false')
    case 'int': {
      const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : typeof v === 'bigint' ? Number(v) : v
      return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : bad('a non-negative integer')
    }
    case 'lan-mode':
      return v === 'off' || v === 'multicast' || v === 'broadcast' || v === 'both' ? v : bad('off, multicast, broadcast or both')
    case 'duration':
      if (typeof v !== 'string') return bad('a duration string such as "20s"')
      try { return parseDuration(v) } catch (err) { throw new ConfigError(`${where}: ${(err as Error).message}`) }
  }
}

function readJsonChainId (path: string): string | undefined {
  let text: string
  try { text = readFileSync(path, 'utf8') } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ConfigError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code})`, { cause: err })
  }
  try {
    const g = JSON.parse(text) as { chain_id?: unknown }
    if (typeof g.chain_id !== 'string' || g.chain_id === '') throw new Error('no "chain_id" string')
    return g.chain_id
  } catch (err) {
    throw new ConfigError(`${path}: not a usable genesis file (${(err as Error).message})`, { cause: err })
  }
}

export interface Overrides { [flag: string]: string | boolean }

/** Reads HOME/config/config.toml (if present) and genesis.json, then applies flag overrides. */
export function loadConfig (home: string, flags: Overrides = {}): SeedConfig {
  const cfg = defaultConfig(home)
  const tomlPath = join(home, 'config', 'config.toml')
  let text: string | undefined
  try { text = readFileSync(tomlPath, 'utf8') } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`${tomlPath}: cannot read (${(err as NodeJS.ErrnoException).code})`, { cause: err })
  }
  if (text !== undefined) applyToml(cfg, text, tomlPath)
  const chainId = readJsonChainId(join(home, 'config', 'genesis.json'))
  if (chainId !== undefined) cfg.chainId = chainId
  applyFlags(cfg, flags)
  validateConfig(cfg)
  return cfg
}

/** Applies config.toml text to `cfg`; throws ConfigError naming `tomlPath`, the line and the key. */
export function applyToml (cfg: SeedConfig, text: string, tomlPath: string): void {
  {
    let doc: Record<string, any>
    try {
      doc = parseToml(text) as Record<string, any>
    } catch (err) {
      const where = err instanceof TomlError ? ` line ${err.line}, column ${err.column}` : ''
      throw new ConfigError(`${tomlPath}:${where} ${(err as Error).message.split('\n')[0]}`, { cause: err })
    }
    // Unknown keys and sections (CometBFT's file has dozens) are ignored on purpose.
    if (doc.moniker !== undefined) cfg.moniker = convert(`${tomlPath}: moniker`, 'string', doc.moniker) as string
    if (doc.node_key_file !== undefined) cfg.nodeKeyFile = convert(`${tomlPath}: node_key_file`, 'string', doc.node_key_file) as string
    if (doc.log_format !== undefined) {
      if (doc.log_format !== 'json' && doc.log_format !== 'plain') throw new ConfigError(`${tomlPath}: log_format: expected "plain" or "json", got ${JSON.stringify(doc.log_format)}`)
      cfg.logFormat = doc.log_format
    }
    if (doc.log_level !== undefined) cfg.logLevel = parseLogLevel(`${tomlPath}: log_level`, doc.log_level)
    const p2p = (doc.p2p ?? {}) as Record<string, unknown>
    for (const [key, [field, kind]] of Object.entries(P2P_KEYS)) {
      if (p2p[key] !== undefined) (cfg.p2p as any)[field] = convert(`${tomlPath}: [p2p] ${key}`, kind, p2p[key])
    }
    const inst = (doc.instrumentation ?? {}) as Record<string, unknown>
    if (inst.prometheus !== undefined) cfg.instrumentation.prometheus = convert(`${tomlPath}: [instrumentation] prometheus`, 'bool', inst.prometheus) as boolean
    if (inst.prometheus_listen_addr !== undefined) cfg.instrumentation.prometheusListenAddr = convert(`${tomlPath}: [instrumentation] prometheus_listen_addr`, 'string', inst.prometheus_listen_addr) as string
    if (inst.namespace !== undefined) cfg.instrumentation.namespace = convert(`${tomlPath}: [instrumentation] namespace`, 'string', inst.namespace) as string
    if (inst.metrics_line !== undefined) cfg.instrumentation.metricsLine = metricsLine(`${tomlPath}: [instrumentation] metrics_line`, inst.metrics_line)
    if (inst.net_info !== undefined) cfg.instrumentation.netInfo = netInfoMode(`${tomlPath}: [instrumentation] net_info`, inst.net_info)
  }
}

function applyFlags (cfg: SeedConfig, flags: Overrides): void {
  for (const [name, value] of Object.entries(flags)) {
    const key = name.replace(/-/g, '_')
    if (key.startsWith('p2p.')) {
      const entry = P2P_KEYS[key.slice(4)]
      if (entry === undefined) throw new ConfigError(`--${name}: unknown p2p flag`)
      ;(cfg.p2p as any)[entry[0]] = convert(`--${name}`, entry[1], value)
    } else if (key === 'moniker') cfg.moniker = String(value)
    else if (key === 'chain_id') cfg.chainId = String(value)
    else if (key === 'node_key_file') cfg.nodeKeyFile = String(value)
    else if (key === 'metrics.laddr' || key === 'instrumentation.prometheus_listen_addr') {
      cfg.instrumentation.prometheus = true
      cfg.instrumentation.prometheusListenAddr = String(value)
    } else if (key === 'instrumentation.prometheus') {
      cfg.instrumentation.prometheus = convert(`--${name}`, 'bool', value) as boolean
    } else if (key === 'instrumentation.namespace') {
      cfg.instrumentation.namespace = convert(`--${name}`, 'string', value) as string
    } else if (key === 'instrumentation.metrics_line' || key === 'metrics.line') {
      cfg.instrumentation.metricsLine = metricsLine(`--${name}`, value)
    } else if (key === 'instrumentation.net_info' || key === 'metrics.net_info') {
      cfg.instrumentation.netInfo = netInfoMode(`--${name}`, value)
    } else if (key === 'log_format') {
      if (value !== 'json' && value !== 'plain') throw new ConfigError(`--log-format: expected "plain" or "json", got ${JSON.stringify(value)}`)
      cfg.logFormat = value
    } else if (key === 'log_level') {
      cfg.logLevel = parseLogLevel('--log-level', value)
    } else {
      throw new ConfigError(`--${name}: unknown flag`)
    }
  }
}

function metricsLine (where: string, v: unknown): MetricsLine {
  if (typeof v === 'string' && (METRICS_LINES as readonly string[]).includes(v)) return v as MetricsLine
  throw new ConfigError(`${where}: expected one of ${METRICS_LINES.join(', ')}, got ${JSON.stringify(v)}`)
}

function netInfoMode (where: string, v: unknown): 'auto' | 'on' | 'off' {
  if (v === 'auto' || v === 'on' || v === 'off') return v
  if (v === true || v === 'true') return 'on'
  if (v === false || v === 'false') return 'off'
  throw new ConfigError(`${where}: expected auto, on or off, got ${JSON.stringify(v)}`)
}

/** The built-in defaults (what a missing config.toml means). */
export function defaultConfig (home: string): SeedConfig {
  return {
    home,
    moniker: 'switchyard-seed',
    chainId: DEFAULT_CHAIN_ID,
    nodeKeyFile: 'config/node_key.json',
    p2p: defaultP2P(),
    instrumentation: { prometheus: false, prometheusListenAddr: ':26660', namespace: 'cometbft', metricsLine: DEFAULT_METRICS_LINE, netInfo: 'auto' },
    logFormat: 'plain',
    logLevel: 'info'
  }
}

/** A path from the config: absolute as is, otherwise relative to the home folder (CometBFT's rule). */
export function homePath (cfg: SeedConfig, p: string): string {
  return isAbsolute(p) ? p : join(cfg.home, p)
}
