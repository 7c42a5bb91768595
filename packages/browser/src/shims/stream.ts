/**
 * node:stream in a browser bundle. Only Duplex is used at run time (SecretConnection and the
 * WebSocket message stream extend it), so only readable-stream's Duplex and what it requires are
 * bundled, not the package's index with pipeline, compose and the stream operators: ~5 KB
 * min+gzip less (docs/browser.md). The index also installs two hooks on the legacy Stream that
 * Readable and Writable call for Uint8Array chunks; they are installed here instead. This leans
 * on readable-stream 4's internal layout (the dependency is pinned to 4.8): the bundle test and
 * the Chromium tests exercise it.
 */
import type { Duplex as NodeDuplex } from 'node:stream'
// @ts-expect-error readable-stream's internal modules carry no type declarations
import legacy from 'readable-stream/lib/internal/streams/legacy.js'
// @ts-expect-error readable-stream's internal modules carry no type declarations
import DuplexImpl from 'readable-stream/lib/internal/streams/duplex.js'

const LegacyStream = (legacy as { Stream: Record<string, unknown> }).Stream
LegacyStream._isUint8Array = (value: unknown): boolean => value instanceof Uint8Array
LegacyStream._uint8ArrayToBuffer = (chunk: Uint8Array): Buffer => Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)

export const Duplex: typeof NodeDuplex = DuplexImpl
export default { Duplex }
