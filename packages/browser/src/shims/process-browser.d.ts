declare module 'process/browser.js' {
  const process: { nextTick: (fn: (...args: unknown[]) => void, ...args: unknown[]) => void, env: Record<string, string | undefined> }
  export default process
}
