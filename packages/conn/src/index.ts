export * from './errors.js'
export * from './channel.js'
export * from './rate-limiter.js'
export * from './mconnection.js'
