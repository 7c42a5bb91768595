/**
 * Node identities a page can keep: the node_key.json document (CometBFT's format, the same text
 * `switchyard` writes to disk) stored in IndexedDB under a name, or exported/imported as text.
 * IndexedDB is per origin: any script on the page's origin can read the key, as any process of the
 * same user can read node_key.json.
 */
import { NodeKey } from '@switchyard/p2p'

const DB_NAME = 'switchyard'
const STORE = 'node-keys'

/** The part of IndexedDB we use (typed here: the build has no DOM library). */
interface IdbRequest<T> { result: T, error: unknown, onsuccess: (() => void) | null, onerror: (() => void) | null }
interface IdbOpenRequest extends IdbRequest<IdbDatabase> { onupgradeneeded: (() => void) | null }
interface IdbDatabase {
  objectStoreNames: { contains: (name: string) => boolean }
  createObjectStore: (name: string) => unknown
  transaction: (store: string, mode: 'readonly' | 'readwrite') => { objectStore: (name: string) => IdbStore, oncomplete: (() => void) | null, onerror: (() => void) | null }
  close: () => void
}
interface IdbStore { get: (key: string) => IdbRequest<unknown>, add: (value: unknown, key: string) => IdbRequest<unknown> }
interface IdbFactory { open: (name: string, version?: number) => IdbOpenRequest }

function idb (): IdbFactory {
  const f = (globalThis as unknown as { indexedDB?: IdbFactory }).indexedDB
  if (f === undefined) throw new Error('this runtime has no IndexedDB')
  return f
}

async function request<T> (r: IdbRequest<T>): Promise<T> {
  return await new Promise((resolve, reject) => {
    r.onsuccess = () => { resolve(r.result) }
    r.onerror = () => { reject(r.error) }
  })
}

async function openDb (): Promise<IdbDatabase> {
  const r = idb().open(DB_NAME, 1)
  r.onupgradeneeded = () => { if (!r.result.objectStoreNames.contains(STORE)) r.result.createObjectStore(STORE) }
  return await request(r)
}

/** The stored node_key.json text under `name`, or undefined. */
export async function readStoredNodeKey (name = 'default'): Promise<NodeKey | undefined> {
  const db = await openDb()
  try {
    const text = await request(db.transaction(STORE, 'readonly').objectStore(STORE).get(name))
    if (text === undefined) return undefined
    if (typeof text !== 'string') throw new Error(`IndexedDB key ${JSON.stringify(name)} does not hold node_key.json text`)
    return NodeKey.fromJSON(text, `indexedDB:${DB_NAME}/${STORE}/${name}`)
  } finally {
    db.close()
  }
}

/** Stores a key under `name`; never overwrites one (add, not put: the add fails if it exists). */
export async function storeNodeKey (key: NodeKey, name = 'default'): Promise<void> {
  const db = await openDb()
  try {
    await request(db.transaction(STORE, 'readwrite').objectStore(STORE).add(exportNodeKey(key), name))
  } finally {
    db.close()
  }
}

/** The key stored under `name`, or a new one stored there (the page keeps its node ID across visits). */
export async function loadOrCreateStoredNodeKey (name = 'default'): Promise<NodeKey> {
  const found = await readStoredNodeKey(name)
  if (found !== undefined) return found
  const key = NodeKey.generate()
  try {
    await storeNodeKey(key, name)
    return key
  } catch (err) {
    // Another tab stored one first: use that.
    const other = await readStoredNodeKey(name)
    if (other !== undefined) return other
    throw err
  }
}

/** node_key.json text, for the user to save (same format as the file on disk). */
export function exportNodeKey (key: NodeKey): string {
  return JSON.stringify(key.toJSON())
}

/** Parses node_key.json text; a malformed one throws NodeKeyFileError (ERR_NODE_KEY_FILE). */
export function importNodeKey (text: string): NodeKey {
  return NodeKey.fromJSON(text, 'imported node_key.json')
}
