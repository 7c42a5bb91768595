#!/usr/bin/env node
/**
 * Serves public/ on http://127.0.0.1:<port> (default 8080). Loopback on purpose: crypto.subtle
 * and IndexedDB want a secure context, which http://127.0.0.1 is and a LAN address is not.
 */
import http from 'node:http'
import { readFile } from 'node:fs/promises'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../public/', import.meta.url))
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' }

export async function serveStatic (port = 0, host = '127.0.0.1') {
  const server = http.createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0])).replace(/^(\.\.[/\\])+/, '')
    const file = join(root, path === '/' ? 'index.html' : path)
    if (!file.startsWith(root) || !(extname(file) in TYPES)) { res.writeHead(404).end('not found'); return }
    readFile(file).then(body => {
      res.writeHead(200, { 'Content-Type': TYPES[extname(file)], 'Cache-Control': 'no-store' }).end(body)
    }, () => { res.writeHead(404).end('not found') })
  })
  await new Promise(resolve => server.listen(port, host, resolve))
  const a = server.address()
  return { server, url: `http://${host}:${a.port}/` }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url } = await serveStatic(Number(process.argv[2] ?? 8080))
  console.log(`serving ${root} at ${url}  (open ${url}?join=ws://<id>@127.0.0.1:<port>)`)
}
