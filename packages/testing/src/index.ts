export * from './wait.js'
export * from './network.js'
