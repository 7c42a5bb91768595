import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import * as wire from '@switchyard/wire'
import * as conn from '@switchyard/conn'
import * as p2p from '@switchyard/p2p'
import * as pex from '@switchyard/pex'
import * as switchyard from '@switchyard/cli'
import * as transportWs from '@switchyard/transport-ws'

describe('docs/errors.md', () => {
  it('lists exactly the error codes and classes the packages export', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')
    const rows = [...doc.matchAll(/^\| `(ERR_[A-Z_]+)` \| `(\w+)` \| ([\w-]+) \|/gm)].map(m => ({ code: m[1]!, cls: m[2]!, pkg: m[3]! }))
    const codes = [...wire.wireErrorCodes, ...conn.connErrorCodes, ...conn.handshakeErrorCodes, ...p2p.p2pErrorCodes, ...p2p.switchErrorCodes, ...pex.pexErrorCodes, ...switchyard.configErrorCodes, ...transportWs.wsErrorCodes]
    expect(rows.map(r => r.code).sort()).toEqual([...codes].sort())
    const modules: Record<string, Record<string, unknown>> = { wire, conn, p2p, pex, switchyard, 'transport-ws': transportWs }
    for (const r of rows) {
      const cls = modules[r.pkg]![r.cls]
      expect(typeof cls, `${r.cls} exported by ${r.pkg}`).toBe('function')
      expect((cls as { prototype: unknown }).prototype).toBeInstanceOf(wire.SwitchyardError)
    }
  })
})
