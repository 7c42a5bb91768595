import type { Server } from 'node:http'
export function serveStatic (port?: number, host?: string): Promise<{ server: Server, url: string }>
