/** A chat member run as examples/chat's real CLI, with its output lines collected. */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { waitFor } from '@switchyard/testing'

const cli = fileURLToPath(new URL('../../chat/dist/cli.js', import.meta.url))

export class CliMember {
  readonly lines: string[] = []
  readonly proc: ChildProcess
  constructor (args: string[]) {
    this.proc = spawn(process.execPath, [cli, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
    let buf = ''
    this.proc.stdout!.setEncoding('utf8').on('data', (t: string) => {
      buf += t
      const parts = buf.split('\n')
      buf = parts.pop()!
      this.lines.push(...parts)
    })
  }

  async line (pred: (l: string) => boolean, what: string, timeoutMs = 15_000): Promise<string> {
    await waitFor(() => this.lines.some(pred), { timeoutMs, what: `${what} (output so far: ${JSON.stringify(this.lines)})` })
    return this.lines.find(pred)!
  }

  say (text: string): void { this.proc.stdin!.write(text + '\n') }
}
