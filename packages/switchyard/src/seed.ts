/**
 * The seed node: a Switch with only the PEX reactor in seed (crawler) mode, an address book saved
 * in the home folder, optional metrics, and operator logs.
 */
import { readFileSync } from 'node:fs'
import type http from 'node:http'
import net from 'node:net'
import { NetAddress, NodeKey, Switch, loadNodeKey, splitHostPort, stripScheme, SWITCHYARD_VERSION } from '@switchyard/p2p'
import { AddrBook, AddrBookFileError, PexReactor, checkAddrBookWritable } from '@switchyard/pex'
import { LanDiscovery, LanDiscoveryError, attachLanDiscovery } from '@switchyard/discovery-lan'
import { allowList, webSocketTransport, type WebSocketTransport } from '@switchyard/transport-ws'
import { SwitchyardError } from '@switchyard/wire'
import { homePath, type SeedConfig } from './config.js'
import type { Logger } from './log.js'
import { SeedMetrics, type SeedCounters } from './metrics.js'
import { isLoopbackHost, netInfoServed, serveEndpoint } from './http-endpoint.js'
import { netInfo } from './net-info.js'
import { boundText, rateLimitedLog } from './log-limits.js'

/** A failure that ends the program with a documented exit code and one clear line. */
export class ExitError extends Error {
  readonly exitCode: number
  constructor (exitCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.exitCode = exitCode
  }
}

export const EXIT = { ok: 0, failure: 1, usage: 2, config: 3, nodeKey: 4, listen: 5, addrBook: 6 } as const

export interface RunningSeed {
  sw: Switch
  book: AddrBook
  pex: PexReactor
  /** id@host:port for others to use. */
  address: string
  /** ws://id@host:port (or wss://) when p2p.ws_laddr is set. */
  wsAddress: string | undefined
  /** Closes connections (up to 2 s), saves the book, and stops. */
  stop: () => Promise<void>
  /** Saves the book now (a second signal: exit soon, but with the book written). */
  saveBook: () => Promise<void>
}

export interface SeedOptions {
  /** DNS lookups of peers' listen-address names (default: a c-ares query); abandoned on stop. */
  resolveHost?: (host: string, signal: AbortSignal) => Promise<unknown>
}

function listenError (what: string, hostPort: string, err: unknown): ExitError {
  const code = (err as NodeJS.ErrnoException).code
  const why = code === 'EADDRINUSE' ? 'is already in use' : code === 'EADDRNOTAVAIL' ? 'is not an address of this machine' : code === 'EACCES' ? 'needs privileges we do not have' : `cannot be used (${(err as Error).message})`
  return new ExitError(EXIT.listen, `${what} ${hostPort} ${why}`, { cause: err })
}

export async function runSeed (cfg: SeedConfig, log: Logger, options: SeedOptions = {}): Promise<RunningSeed> {
  let state: 'starting' | 'running' | 'stopping' = 'starting'
  const keyPath = homePath(cfg, cfg.nodeKeyFile)
  let nodeKey: NodeKey
  try {
    nodeKey = await loadNodeKey(keyPath)
  } catch (err) {
    const missing = ((err as { cause?: NodeJS.ErrnoException }).cause)?.code === 'ENOENT'
    throw new ExitError(EXIT.nodeKey, `${(err as Error).message}${missing ? ` (run \`switchyard init --home ${cfg.home}\` to create one)` : ''}`, { cause: err })
  }

  const bookPath = homePath(cfg, cfg.p2p.addrBookFile)
  let book: AddrBook
  const bookOptions = { strict: cfg.p2p.addrBookStrict, maxBans: cfg.p2p.addrBookMaxBans, maxBanMs: cfg.p2p.addrBookMaxBanDuration }
  try {
    book = await AddrBook.load(bookPath, bookOptions)
  } catch (err) {
    if (err instanceof AddrBookFileError && err.quarantinedTo !== undefined) {
      // The broken file is kept aside; a seed can rebuild its book from the network.
      log.error('address book was corrupt; starting with an empty one', { file: bookPath, kept_as: err.quarantinedTo })
      book = new AddrBook({ filePath: bookPath, ...bookOptions })
    } else {
      throw new ExitError(EXIT.addrBook, (err as Error).message, { cause: err })
    }
  }
  try {
    // A read-only home is found now, not by the first save minutes later (or at shutdown).
    await checkAddrBookWritable(bookPath)
  } catch (err) {
    throw new ExitError(EXIT.addrBook, (err as Error).message, { cause: err })
  }
  book.on('save-failed', err => log.error('address book save failed; the previous file is kept', { file: bookPath, reason: err.message }))
  book.addPrivateIds(cfg.p2p.privatePeerIds)
  book.on('refused', r => log.debug('address refused', { address: r.address, reason: r.reason }))

  const laddr = splitHostPort(stripScheme(cfg.p2p.laddr))
  if (typeof laddr === 'string') throw new ExitError(EXIT.config, `p2p.laddr ${JSON.stringify(cfg.p2p.laddr)}: ${laddr}`)

  const sw = new Switch({
    nodeKey,
    network: cfg.chainId,
    moniker: cfg.moniker,
    version: SWITCHYARD_VERSION,
    listenAddress: cfg.p2p.laddr,
    // Several nodes on one host, each on its own 127.x address: dial from ours, or every node's
    // connections come from 127.0.0.1 and peers refuse all but one (ERR_DUPLICATE_IP).
    ...(isLoopbackHost(laddr.host) && net.isIP(laddr.host) !== 0 ? { dialFromAddress: laddr.host } : {}),
    ...(cfg.p2p.externalAddress !== '' ? { externalAddress: cfg.p2p.externalAddress } : {}),
    maxInboundPeers: cfg.p2p.maxNumInboundPeers,
    maxOutboundPeers: cfg.p2p.maxNumOutboundPeers,
    persistentPeers: cfg.p2p.persistentPeers,
    unconditionalPeerIds: cfg.p2p.unconditionalPeerIds,
    privatePeerIds: cfg.p2p.privatePeerIds,
    allowDuplicateIp: cfg.p2p.allowDuplicateIp,
    handshakeTimeout: cfg.p2p.handshakeTimeout,
    maxPendingHandshakesPerIp: cfg.p2p.maxPendingHandshakesPerIp,
    ...(options.resolveHost !== undefined ? { resolveHost: options.resolveHost } : {}),
    dialTimeout: cfg.p2p.dialTimeout,
    reconnect: { maxDialPeriod: cfg.p2p.persistentPeersMaxDialPeriod },
    connection: {
      sendRate: cfg.p2p.sendRate,
      recvRate: cfg.p2p.recvRate,
      flushThrottle: cfg.p2p.flushThrottleTimeout,
      maxPacketMsgPayloadSize: cfg.p2p.maxPacketMsgPayloadSize
    },
    addressBook: book
  })
  const pex = new PexReactor({
    book,
    seedMode: true,
    seeds: cfg.p2p.seeds,
    serveVerifiedOnly: cfg.p2p.seedServeVerifiedOnly,
    verifiedWindow: cfg.p2p.seedVerifiedWindow,
    seedDisconnectWaitPeriod: cfg.p2p.seedCrawlHold,
    verifier: { ratePerSecond: Math.max(1, cfg.p2p.seedVerifyRate), concurrency: Math.max(1, cfg.p2p.seedVerifyConcurrency) },
    seedRequestTimeout: cfg.p2p.seedRequestTimeout,
    onSeedUnusable: (seed, err) => log.warn('seed dial failed', { address: seed, reason: (err as { code?: string }).code ?? 'ERR_SEED_UNUSABLE', detail: err.message })
  })
  sw.addReactor('pex', pex)
  // Before start(): persistent peers and seeds may be ws:// or wss:// addresses.
  const ws = webSocket(cfg, sw, book)

  const counters: SeedCounters = { handshakes: new Map(), rejections: new Map() }
  const bump = (m: Map<string, number>, k: string): void => { m.set(k, (m.get(k) ?? 0) + 1) }
  sw.on('peer:add', p => {
    bump(counters.handshakes, 'ok')
    log.info('peer connected', { id: p.id, moniker: boundText(p.moniker), remote: p.socketAddress.dialString, outbound: p.outbound })
  })
  // A flood of refusals must not become a flood of lines: a few per window, then one summary.
  const refusedLog = rateLimitedLog(log, 'connections refused')
  const dialLog = rateLimitedLog(log, 'dials failed')
  sw.on('handshake:refused', ({ remote, reason }) => {
    bump(counters.rejections, reason === 'full' ? 'handshake_slots_full' : 'handshake_slots_per_ip')
    refusedLog.info('connection refused before its handshake', { remote, reason: reason === 'full' ? 'every handshake slot is taken' : 'too many handshakes from this IP' }, reason)
  })
  sw.on('peer:remove', (p, reason) => log.info('peer disconnected', { id: p.id, reason: reason?.code ?? 'graceful' }))
  const seedIds = new Set(cfg.p2p.seeds.map(s => stripScheme(s).split('@')[0]!.toLowerCase()))
  sw.on('peer:rejected', ({ address, outbound, error }) => {
    const handshakeFailed = !['ERR_DUPLICATE_PEER', 'ERR_DUPLICATE_IP', 'ERR_TOO_MANY_PEERS', 'ERR_SWITCH_STOPPED', 'ERR_FILTERED'].includes(error.code)
    if (handshakeFailed) bump(counters.handshakes, error.code)
    bump(counters.rejections, error.code)
    // A seed we cannot reach is the operator's business: without one, nobody new is learned.
    // Two nodes connecting to each other at once is routine (LAN discovery, PEX): not news.
    const fields = { address, reason: error.code, detail: boundText(error.message, 200) }
    if (outbound && seedIds.has(stripScheme(address).split('@')[0]!.toLowerCase())) {
      log.warn('seed dial failed', fields)
    } else if (error.code === 'ERR_DUPLICATE_PEER') {
      // Two nodes connecting to each other at once is routine (LAN discovery, PEX): not news.
      log.debug(outbound ? 'dial failed' : 'connection refused', fields)
    } else {
      ;(outbound ? dialLog : refusedLog).info(outbound ? 'dial failed' : 'connection refused', fields, error.code)
    }
  })

  const started = Date.now()
  let lan: LanDiscovery | undefined
  let metrics: http.Server | undefined
  let seedMetrics: SeedMetrics | undefined
  if (cfg.instrumentation.prometheus) {
    const m = /^(?:(.*):)?(\d+)$/.exec(stripScheme(cfg.instrumentation.prometheusListenAddr))
    if (m === null) throw new ExitError(EXIT.config, `prometheus_listen_addr ${JSON.stringify(cfg.instrumentation.prometheusListenAddr)} is not host:port`)
    // No host (CometBFT's ":26660") means loopback here: /metrics and /net_info name every peer.
    const host = m[1] === undefined || m[1] === '' ? '127.0.0.1' : m[1].replace(/^\[|\]$/g, '')
    const source = { namespace: cfg.instrumentation.namespace, line: cfg.instrumentation.metricsLine, sw, book, pex, counters, started }
    const netInfoOn = netInfoServed(cfg.instrumentation.netInfo, host)
    try {
      seedMetrics = new SeedMetrics(source)
      metrics = await serveEndpoint(host, Number(m[2]), {
        metrics: seedMetrics,
        state: () => state,
        ...(netInfoOn ? { netInfo: () => netInfo({ ...source, state: () => state }) } : {})
      })
    } catch (err) {
      throw listenError('metrics address', `${host}:${m[2]}`, err)
    }
    log.info('metrics listening', { addr: `http://${host}:${m[2]}/metrics`, net_info: netInfoOn ? 'on' : 'off' })
  }

  try {
    await sw.start()
  } catch (err) {
    metrics?.close()
    if (err instanceof SwitchyardError) throw new ExitError(EXIT.config, err.message, { cause: err })
    throw listenError('p2p.laddr', `${laddr.host}:${laddr.port}`, err)
  }
  let wsAddress: string | undefined
  try {
    wsAddress = await ws.listen()
  } catch (err) {
    await sw.stop()
    metrics?.close()
    throw listenError('p2p.ws_laddr', stripScheme(cfg.p2p.wsLaddr), err)
  }
  if (wsAddress !== undefined) log.info('WebSocket listening', { address: wsAddress, allow: cfg.p2p.wsAllow })
  ws.listener?.on('refused', r => log.debug('WebSocket upgrade refused', { remote: r.remoteIp, status: r.status, reason: r.reason }))
  for (const a of cfg.p2p.bootstrapPeers) {
    try { book.addAddress(NetAddress.parse(a), NetAddress.parse(a)) } catch (err) { log.error('bootstrap peer ignored', { address: a, reason: (err as Error).message }) }
  }
  if (cfg.p2p.lanDiscovery !== 'off') {
    lan = new LanDiscovery({
      nodeKey, network: cfg.chainId, listenPort: Number(sw.address.split(':').pop()), mode: cfg.p2p.lanDiscovery,
      group: cfg.p2p.lanDiscoveryGroup, port: cfg.p2p.lanDiscoveryPort,
      ...(cfg.p2p.lanDiscoveryBroadcastAddress !== '' ? { broadcastAddress: cfg.p2p.lanDiscoveryBroadcastAddress } : {}),
      interval: cfg.p2p.lanDiscoveryInterval,
      ...(cfg.p2p.lanDiscoveryInterface !== '' ? { interface: cfg.p2p.lanDiscoveryInterface } : {}),
      ...(laddr.host !== '0.0.0.0' && laddr.host !== '::' && laddr.host !== '' ? { sourceAddress: laddr.host } : {})
    })
    lan.on('peer', p => log[p.firstSeen ? 'info' : 'debug']('LAN peer discovered', { id: p.id, address: p.address.toString() }))
    // The first failure of each kind is an error operators must see; repeats are in the metrics.
    const sendErrorsSeen = new Set<string>()
    lan.on('send-error', e => {
      const first = !sendErrorsSeen.has(`${e.destination} ${e.code}`)
      sendErrorsSeen.add(`${e.destination} ${e.code}`)
      log[first ? 'error' : 'debug']('LAN announcement not sent', { to: e.destination, reason: e.code, detail: e.message })
    })
    attachLanDiscovery(lan, sw, book)
    try {
      await lan.start()
    } catch (err) {
      await sw.stop()
      metrics?.close()
      // Only a bind failure is about the port; an interface or multicast failure says so itself.
      if (err instanceof LanDiscoveryError) throw new ExitError(EXIT.listen, `LAN discovery: ${err.message}`, { cause: err })
      throw listenError('LAN discovery port', `${cfg.p2p.lanDiscoveryPort}`, err)
    }
    seedMetrics?.addLanDiscovery(lan)
    const lanIf = lan.interface!
    log.info('LAN discovery on', { mode: cfg.p2p.lanDiscovery, port: cfg.p2p.lanDiscoveryPort, interface: lanIf.name, address: lanIf.address, to: lan.destinations.join(','), why: lanIf.reason })
  }
  state = 'running'
  const address = sw.address
  log.info('seed node started', { id: nodeKey.id, address, network: cfg.chainId, book: book.size, seeds: cfg.p2p.seeds.length })

  return {
    sw,
    book,
    pex,
    address,
    wsAddress,
    stop: async () => {
      state = 'stopping'
      log.info('stopping: closing connections and saving the address book', { file: bookPath })
      refusedLog.stop()
      dialLog.stop()
      await lan?.stop()
      await sw.stop({ timeout: 2000 })
      metrics?.close()
      metrics?.closeAllConnections()
      await book.save()
      log.info('stopped', { saved: book.size })
    },
    saveBook: async () => {
      await book.save()
      log.info('address book saved', { saved: book.size })
    }
  }
}

/** WebSocket dialers always; the listener when p2p.ws_laddr is set (wss:// with the TLS files). */
function webSocket (cfg: SeedConfig, sw: Switch, book: AddrBook): WebSocketTransport {
  const { wsLaddr, wsTlsCertFile, wsTlsKeyFile } = cfg.p2p
  if (wsLaddr === '') return webSocketTransport(sw)
  const secure = wsLaddr.startsWith('wss://')
  if (!secure && !wsLaddr.startsWith('ws://')) throw new ExitError(EXIT.config, `p2p.ws_laddr ${JSON.stringify(wsLaddr)}: expected ws://host:port or wss://host:port`)
  if (secure !== (wsTlsCertFile !== '' && wsTlsKeyFile !== '')) {
    throw new ExitError(EXIT.config, secure ? 'p2p.ws_laddr is wss://: set p2p.ws_tls_cert_file and p2p.ws_tls_key_file' : 'p2p.ws_tls_cert_file and ws_tls_key_file need a wss:// p2p.ws_laddr')
  }
  let tls: { cert: Buffer, key: Buffer } | undefined
  if (secure) {
    try {
      tls = { cert: readFileSync(homePath(cfg, wsTlsCertFile)), key: readFileSync(homePath(cfg, wsTlsKeyFile)) }
    } catch (err) {
      throw new ExitError(EXIT.config, `p2p.ws_tls_*_file: ${(err as Error).message}`, { cause: err })
    }
  }
  try {
    return webSocketTransport(sw, {
      listen: wsLaddr,
      ...(tls !== undefined ? { tls } : {}),
      ...(cfg.p2p.wsAllow === 'known' ? { allow: allowList({ ids: cfg.p2p.unconditionalPeerIds, switch: sw, book }) } : {})
    })
  } catch (err) {
    throw new ExitError(EXIT.config, `p2p.ws_laddr: ${(err as Error).message}`, { cause: err })
  }
}
