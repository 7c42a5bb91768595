/**
 * Range and shape checks on a loaded configuration, run before anything starts: a value that would
 * break the seed (a timeout setTimeout cannot hold, a zero payload size, a seed address that can
 * never be dialed) is refused with a ConfigError naming the key, as CometBFT refuses a bad seed.
 */
import net from 'node:net'
import { isHostname, isValidNodeId, splitHostPort, stripScheme } from '@switchyard/p2p'
import { ConfigError, type SeedConfig } from './config.js'

const HOUR = 3_600_000

function fmtMs (ms: number): string {
  return ms >= HOUR ? `${ms / HOUR}h` : ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`
}

function range (key: string, v: number, min: number, max: number, unit: 'ms' | '' = ''): void {
  if (v >= min && v <= max) return
  const show = (x: number): string => unit === 'ms' ? fmtMs(x) : String(x)
  throw new ConfigError(`p2p.${key} = ${show(v)} is out of range: allowed ${show(min)} to ${show(max)}`)
}

/** Why `s` is not a usable host:port (with an optional id@ and scheme), or undefined when it is. */
export function addressProblem (s: string, needId: boolean): string | undefined {
  const rest = stripScheme(s.trim())
  const at = rest.split('@')
  if (at.length > 2) return 'more than one "@"'
  if (at.length === 1 && needId) return 'the node ID is missing'
  if (at.length === 2 && !isValidNodeId(at[0]!)) return `node ID ${JSON.stringify(at[0])} is not 40 hex characters`
  const hp = splitHostPort(at[at.length - 1]!)
  if (typeof hp === 'string') return hp
  if (hp.host === '') return 'empty host'
  if (net.isIP(hp.host) === 0 && !isHostname(hp.host)) return `host ${JSON.stringify(hp.host)} is neither an IP address nor a DNS name`
  if (hp.port === 0) return 'port 0 cannot be dialed'
  return undefined
}

function addressList (key: string, list: string[]): void {
  for (const a of list) {
    const why = addressProblem(a, true)
    if (why !== undefined) throw new ConfigError(`p2p.${key}: ${JSON.stringify(a)} is not id@host:port (${why})`)
  }
}

function idList (key: string, list: string[]): void {
  for (const id of list) if (!isValidNodeId(id)) throw new ConfigError(`p2p.${key}: ${JSON.stringify(id)} is not a node ID (40 hex characters)`)
}

/** A moniker peers accept: printable ASCII, not blank (CometBFT validates NodeInfo the same way). */
export function checkMoniker (where: string, moniker: string): void {
  if (moniker.trim() === '' || !/^[\x20-\x7e]+$/.test(moniker)) throw new ConfigError(`${where}: a moniker must be printable ASCII and not blank, got ${JSON.stringify(moniker)}`)
  if (moniker.length > 128) throw new ConfigError(`${where}: a moniker is at most 128 characters, got ${moniker.length}`)
}

/** A chain ID as CometBFT's genesis validation allows: 1 to 50 characters. */
export function checkChainId (where: string, chainId: string): void {
  if (chainId.trim() === '' || chainId.length > 50 || !/^[\x21-\x7e]+$/.test(chainId)) throw new ConfigError(`${where}: a chain ID is 1 to 50 printable characters without spaces, got ${JSON.stringify(chainId)}`)
}

export function validateConfig (cfg: SeedConfig): void {
  const p = cfg.p2p
  checkMoniker('moniker', cfg.moniker)
  checkChainId('chain ID', cfg.chainId)

  const laddr = splitHostPort(stripScheme(p.laddr))
  if (typeof laddr === 'string') throw new ConfigError(`p2p.laddr ${JSON.stringify(p.laddr)}: ${laddr}`)
  if (p.externalAddress !== '') {
    const why = addressProblem(p.externalAddress, false)
    if (why !== undefined) throw new ConfigError(`p2p.external_address ${JSON.stringify(p.externalAddress)}: ${why}`)
  }
  addressList('seeds', p.seeds)
  addressList('persistent_peers', p.persistentPeers)
  addressList('bootstrap_peers', p.bootstrapPeers)
  idList('unconditional_peer_ids', p.unconditionalPeerIds)
  idList('private_peer_ids', p.privatePeerIds)

  // Timeouts: zero would fail every handshake/dial at once; beyond setTimeout's range Node fires
  // after 1 ms. Limits are generous, only values that cannot be meant are refused.
  range('handshake_timeout', p.handshakeTimeout, 1, HOUR, 'ms')
  range('dial_timeout', p.dialTimeout, 1, HOUR, 'ms')
  range('flush_throttle_timeout', p.flushThrottleTimeout, 0, 10_000, 'ms')
  range('persistent_peers_max_dial_period', p.persistentPeersMaxDialPeriod, 0, 24 * HOUR, 'ms')
  range('lan_discovery_interval', p.lanDiscoveryInterval, 100, 24 * HOUR, 'ms')
  // CometBFT's default is 1024; a packet must fit what peers accept, so keep to sane sizes.
  range('max_packet_msg_payload_size', p.maxPacketMsgPayloadSize, 1, 1_048_576)
  range('max_num_inbound_peers', p.maxNumInboundPeers, 0, 10_000)
  range('max_num_outbound_peers', p.maxNumOutboundPeers, 0, 10_000)
  for (const [key, v] of [['send_rate', p.sendRate], ['recv_rate', p.recvRate]] as const) {
    if (v !== 0 && v < 1024) throw new ConfigError(`p2p.${key} = ${v} is out of range: 0 (no limit) or at least 1024 bytes/s`)
  }
  range('lan_discovery_port', p.lanDiscoveryPort, 1, 65_535)
  // Bounds against hostile peers (docs/reliability.md): zero would refuse everyone or ban nobody.
  range('max_pending_handshakes_per_ip', p.maxPendingHandshakesPerIp, 1, 10_000)
  range('seed_request_timeout', p.seedRequestTimeout, 1, 24 * HOUR, 'ms')
  range('addr_book_max_bans', p.addrBookMaxBans, 1, 1_000_000)
  range('addr_book_max_ban_duration', p.addrBookMaxBanDuration, 0, 365 * 24 * HOUR, 'ms')

  const inst = cfg.instrumentation
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(inst.namespace)) throw new ConfigError(`[instrumentation] namespace ${JSON.stringify(inst.namespace)}: a Prometheus name prefix (letters, digits, _) is needed`)
  if (inst.prometheus) {
    const m = /^(?:(.*):)?(\d+)$/.exec(stripScheme(inst.prometheusListenAddr))
    if (m === null || Number(m[2]) > 65_535) throw new ConfigError(`[instrumentation] prometheus_listen_addr ${JSON.stringify(inst.prometheusListenAddr)} is not host:port`)
  }
}
