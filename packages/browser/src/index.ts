/**
 * Switchyard for a browser page: the Switch, reactors, node identity, SecretConnection and
 * MConnection of the Node packages, dialing ws:// and wss:// through the page's WebSocket.
 * Bundled by scripts/bundle.mjs into dist/switchyard.browser.js (ESM).
 */
export {
  Switch, Reactor, NodeKey, channel, peerDataKey, makeNodeInfo, type SwitchOptions, type Envelope, type Peer,
  type RemoveReason, type Channel, type NodeInfoOptions
} from '@switchyard/p2p'
export { SwitchyardError } from '@switchyard/wire'
export { handshakeCryptoStatus, type HandshakeCryptoStatus } from '@switchyard/conn'
export { browserWebSocketTransport, browserWsDialer, MessageStream, type StreamLimits } from '@switchyard/transport-ws'
export * from './key-store.js'
