export * from './wait.js'
export * from './network.js'
export * from './hostile.js'
export * from './time-scale.js'
