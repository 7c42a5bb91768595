/** Crash-safe file writes: a reader sees the old file or the new one, never a torn one. */
import { promises as fs } from 'node:fs'
import { dirname, basename, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { FileExistsError } from './errors.js'

async function writeTemp (path: string, data: string | Uint8Array, mode: number): Promise<string> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  const fh = await fs.open(tmp, 'wx', mode)
  try {
    try {
      await fh.writeFile(data)
      await fh.sync()
    } finally {
      await fh.close()
    }
  } catch (err) {
    // A full disk or an I/O error must not leave a partial temp file behind.
    await fs.rm(tmp, { force: true })
    throw err
  }
  return tmp
}

async function syncDir (dir: string): Promise<void> {
  const dh = await fs.open(dir, 'r')
  try { await dh.sync() } catch { /* some filesystems refuse fsync on directories */ } finally { await dh.close() }
}

/** Writes `data` to `path` atomically (temp file, fsync, rename), replacing what was there. */
export async function writeFileAtomic (path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = await writeTemp(path, data, mode)
  try {
    await fs.rename(tmp, path)
  } catch (err) {
    await fs.rm(tmp, { force: true })
    throw err
  }
  await syncDir(dirname(path))
}

/** Like writeFileAtomic, but fails with FileExistsError rather than replace an existing file. */
export async function createFileAtomic (path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = await writeTemp(path, data, mode)
  try {
    // link() refuses an existing target, which makes "create if absent" atomic.
    await fs.link(tmp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new FileExistsError(path)
    throw err
  } finally {
    await fs.rm(tmp, { force: true })
  }
  await syncDir(dirname(path))
}
