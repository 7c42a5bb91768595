/**
 * Plugs WebSocket into a Switch: ws:// and wss:// dialers on its Transport, and (with `listen`)
 * a WebSocket listener next to its TCP one. Inside the WebSocket the byte stream is the same
 * SecretConnection + MConnection, so reactors see the same peers either way.
 */
import type { Switch } from '@switchyard/p2p'
import { splitHostPort } from '@switchyard/p2p'
import { wsDialer } from './dial.js'
import { WsListener, type WsListenerOptions } from './listener.js'
import { resolveLimits, type StreamLimits } from './node-socket.js'

export interface WebSocketTransportOptions extends StreamLimits, Omit<WsListenerOptions, 'host' | 'port'> {
  /** Listen address, ws://host:port or wss://host:port (wss needs `tls`); omit to only dial. */
  listen?: string
  /** Trust for dialing wss:// (default: the system's CAs). */
  dialTls?: { ca?: string | Buffer | Array<string | Buffer>, rejectUnauthorized?: boolean }
  /** Dial with an all-zero WebSocket masking key (see WsDialOptions.zeroMask). */
  zeroMask?: boolean
}

export interface WebSocketTransport {
  /** The listener, when `listen` was given. */
  listener: WsListener | undefined
  /** Starts the listener (if any); resolves with the dialable address (scheme://id@host:port). */
  listen: () => Promise<string | undefined>
  close: () => Promise<void>
}

export function webSocketTransport (sw: Switch, options: WebSocketTransportOptions = {}): WebSocketTransport {
  const limits = resolveLimits(options)
  const dialer = wsDialer({ peerId: sw.nodeKey.id, limits, ...options.dialTls, ...(options.zeroMask === true ? { zeroMask: true } : {}) })
  sw.transport.registerDialer('ws', dialer)
  sw.transport.registerDialer('wss', dialer)
  let listener: WsListener | undefined
  if (options.listen !== undefined) {
    const m = /^(wss?):\/\/(.+)$/.exec(options.listen)
    if (m === null) throw new RangeError(`WebSocket listen address must be ws://host:port or wss://host:port, got ${JSON.stringify(options.listen)}`)
    if (m[1] === 'wss' && options.tls === undefined) throw new RangeError('a wss:// listen address needs tls (cert and key)')
    if (m[1] === 'ws' && options.tls !== undefined) throw new RangeError('tls is given but the listen address is ws://; use wss://')
    const hp = splitHostPort(m[2]!)
    if (typeof hp === 'string') throw new RangeError(`WebSocket listen address: ${hp}`)
    listener = new WsListener(sw, { ...options, host: hp.host, port: hp.port }, limits)
    // The Switch closes its Transport on stop(); the WebSocket listener stops with it.
    sw.transport.once('close', () => { void listener?.close() })
  }
  return {
    listener,
    listen: async () => {
      if (listener === undefined) return undefined
      await listener.listen()
      return listener.address
    },
    close: async () => { await listener?.close() }
  }
}
