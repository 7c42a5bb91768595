/** Test helper: collects a child process's output stream as whole lines, as they arrive. */
export function collectLines (stream: NodeJS.ReadableStream, into: string[]): void {
  let buf = ''
  stream.setEncoding('utf8')
  stream.on('data', (t: string) => { buf += t; const parts = buf.split('\n'); buf = parts.pop()!; into.push(...parts) })
}
