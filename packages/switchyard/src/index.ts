export { runDemo, type DemoResult } from './demo.js'
