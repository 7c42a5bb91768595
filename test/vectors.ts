import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The shared, read-only test vectors beside the checkout (../shared/vectors). */
export const vectorsDir = fileURLToPath(new URL('../../shared/vectors/', import.meta.url))

export function readVector<T = any> (path: string): T {
  return JSON.parse(readFileSync(vectorsDir + path, 'utf8')) as T
}

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
