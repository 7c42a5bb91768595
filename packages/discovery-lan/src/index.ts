export * from './announcement.js'
export * from './source-limiter.js'
export * from './lan-discovery.js'
export * from './attach.js'
