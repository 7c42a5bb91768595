/**
 * Dialing ws:// and wss:// from a browser: the WHATWG WebSocket cannot set headers, so our node ID
 * goes in the `peer_id` query parameter instead of the PeerID header (the listener accepts either;
 * the handshake must prove it all the same). No node: modules here.
 */
import { DialFailedError, DialTimeoutError, type StreamDialer, type Switch } from '@switchyard/p2p'
import { MessageStream, type WebSocketLike } from './message-stream.js'
import { resolveLimits, type StreamLimits } from './node-socket.js'

/** A WHATWG WebSocket as far as dialing needs it. */
export interface DialableWebSocket extends WebSocketLike {
  addEventListener: (type: 'open' | 'message' | 'close' | 'error', listener: (event: any) => void) => void
  removeEventListener: (type: 'open' | 'message' | 'close' | 'error', listener: (event: any) => void) => void
}

export type WebSocketConstructor = new (url: string) => DialableWebSocket

export interface BrowserWsDialOptions {
  /** Our node ID, sent as the peer_id query parameter. */
  peerId: string
  limits: Required<StreamLimits>
  /** The WebSocket class (default: globalThis.WebSocket). */
  WebSocket?: WebSocketConstructor
}

export function browserWsDialer (options: BrowserWsDialOptions): StreamDialer {
  return async (target, { signal, timeout }) => {
    const Ctor = options.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketConstructor }).WebSocket
    if (Ctor === undefined) throw new DialFailedError(target.address, new Error('this runtime has no WebSocket'))
    const host = target.host.includes(':') ? `[${target.host}]` : target.host
    const url = `${target.scheme}://${host}:${target.port}${target.path !== '' ? target.path : '/ws'}?peer_id=${options.peerId}`
    const ws = new Ctor(url)
    let stream: MessageStream | undefined
    let timer: ReturnType<typeof setTimeout> | undefined
    let onAbort: (() => void) | undefined
    const listeners: Array<[type: 'open' | 'error' | 'close', fn: (event: any) => void]> = []
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => reject(new DialTimeoutError(target.address, timeout)), timeout)
        onAbort = () => reject(new DialFailedError(target.address, signal?.reason ?? new Error('aborted')))
        if (signal?.aborted === true) onAbort()
        signal?.addEventListener('abort', onAbort, { once: true })
        const on = (type: 'open' | 'error' | 'close', fn: (event: any) => void): void => { listeners.push([type, fn]); ws.addEventListener(type, fn) }
        // Wrap at once: the first messages can arrive before an awaiting caller resumes.
        on('open', () => { stream = new MessageStream(ws, options.limits); resolve() })
        // A browser does not tell why an upgrade failed (status codes are hidden from scripts).
        on('close', (e: { code?: number }) => { reject(new DialFailedError(target.address, new Error(`the WebSocket closed before it opened (close code ${e.code ?? 0})`))) })
        on('error', () => { reject(new DialFailedError(target.address, new Error('the WebSocket failed to open'))) })
      })
    } catch (err) {
      try { ws.close() } catch { /* not open yet */ }
      throw err
    } finally {
      clearTimeout(timer)
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
      for (const [type, fn] of listeners) ws.removeEventListener(type, fn)
    }
    return { stream: stream!, remoteIp: target.host, remotePort: target.port }
  }
}

/** Registers the browser dialer for ws:// and wss:// on a Switch's Transport (a page cannot listen). */
export function browserWebSocketTransport (sw: Switch, options: StreamLimits & { WebSocket?: WebSocketConstructor } = {}): void {
  const dialer = browserWsDialer({ peerId: sw.nodeKey.id, limits: resolveLimits(options), ...(options.WebSocket !== undefined ? { WebSocket: options.WebSocket } : {}) })
  sw.transport.registerDialer('ws', dialer)
  sw.transport.registerDialer('wss', dialer)
}
