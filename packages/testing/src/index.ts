export * from './wait.js'
export * from './network.js'
export * from './hostile.js'
