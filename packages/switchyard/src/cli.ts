#!/usr/bin/env node
/** The `switchyard` command. */
import { runDemo } from './demo.js'

const USAGE = `usage: switchyard <command>

commands:
  demo     open two nodes on 127.0.0.1, handshake, exchange messages, stop
  help     this text`

async function main (argv: string[]): Promise<number> {
  const [command = 'demo'] = argv
  switch (command) {
    case 'demo':
      await runDemo()
      return 0
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE)
      return 0
    default:
      console.error(`switchyard: unknown command ${JSON.stringify(command)}\n${USAGE}`)
      return 2
  }
}

main(process.argv.slice(2)).then(code => { process.exitCode = code }, (err: unknown) => {
  console.error(`switchyard: ${(err as Error).message}`)
  process.exitCode = 1
})
