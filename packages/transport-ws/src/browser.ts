/** What a browser bundle takes from this package (package.json "browser" condition): no `ws`, no node:http. */
export * from './errors.js'
export * from './message-stream.js'
export { DEFAULT_LIMITS, resolveLimits, type StreamLimits } from './node-socket.js'
export * from './browser-dial.js'
