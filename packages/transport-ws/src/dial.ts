/**
 * Dialing ws:// and wss:// addresses: opens the WebSocket to /ws (or the address's path) with our
 * node ID in the PeerID header, and hands the Transport a byte stream to upgrade.
 */
import net from 'node:net'
import { WebSocket } from 'ws'
import createDebug from 'debug'
import { DialFailedError, DialTimeoutError, type StreamDialer } from '@switchyard/p2p'
import { WsUpgradeRefusedError } from './errors.js'
import type { MessageStream } from './message-stream.js'
import { streamFromWs, type StreamLimits } from './node-socket.js'

const log = createDebug('switchyard:transport-ws:dial')

export interface WsDialOptions {
  /** Our node ID, sent as the PeerID header. */
  peerId: string
  limits: Required<StreamLimits>
  /** wss: certificate authorities to trust besides the system's (e.g. a self-signed test CA). */
  ca?: string | Buffer | Array<string | Buffer>
  /** wss: set false only for tests against a self-signed certificate. */
  rejectUnauthorized?: boolean
  /**
   * Send with an all-zero masking key, which `ws` skips on both ends (default false: random keys,
   * as RFC 6455 asks). Masking guards intermediaries against payloads a script chose; ours is
   * SecretConnection ciphertext nobody can choose, and masking in JS costs a pass over every byte
   * on each side (docs/benchmarks.md). Only for peers you reach without HTTP proxies in between.
   */
  zeroMask?: boolean
}

function zeroMask (mask: Buffer): void { mask.fill(0) }

export function wsDialer (options: WsDialOptions): StreamDialer {
  return async (target, { signal, timeout, localAddress }) => {
    const host = net.isIPv6(target.host) ? `[${target.host}]` : target.host
    // The node ID stays out of the URL: `ws` would send it as HTTP basic credentials.
    const url = `${target.scheme}://${host}:${target.port}${target.path !== '' ? target.path : '/ws'}`
    const ws = new WebSocket(url, {
      headers: { PeerID: options.peerId },
      maxPayload: options.limits.maxMessageSize,
      perMessageDeflate: false,
      followRedirects: false,
      ...(options.zeroMask === true ? { generateMask: zeroMask } : {}),
      ...(localAddress !== undefined ? { localAddress } : {}),
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
      ...(options.rejectUnauthorized !== undefined ? { rejectUnauthorized: options.rejectUnauthorized } : {})
    })
    ws.on('error', () => {})
    let remoteIp = target.host
    let remotePort = target.port
    let stream: MessageStream | undefined
    let onAbort: (() => void) | undefined
    let timer: NodeJS.Timeout | undefined
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => reject(new DialTimeoutError(target.address, timeout)), timeout)
        onAbort = () => reject(new DialFailedError(target.address, signal?.reason ?? new Error('aborted')))
        if (signal?.aborted === true) onAbort()
        signal?.addEventListener('abort', onAbort, { once: true })
        ws.once('upgrade', res => {
          remoteIp = res.socket.remoteAddress ?? remoteIp
          remotePort = res.socket.remotePort ?? remotePort
        })
        ws.once('unexpected-response', (_req, res) => {
          res.resume()
          reject(new WsUpgradeRefusedError(target.address, res.statusCode ?? 0))
        })
        // Wrap at once: the first messages can arrive before an awaiting caller resumes.
        ws.once('open', () => { stream = streamFromWs(ws, options.limits); resolve() })
        ws.once('error', err => reject(new DialFailedError(target.address, err)))
      })
    } catch (err) {
      ws.terminate()
      log('dial %s failed: %s', target.address, (err as Error).message)
      throw err
    } finally {
      clearTimeout(timer)
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
    }
    return { stream: stream!, remoteIp, remotePort }
  }
}
