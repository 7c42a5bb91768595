/** node:fs in a browser bundle: there are no files; keep identities with key-store.ts instead. */
function noFiles (): never {
  throw new Error('there is no file system in a browser; use the IndexedDB key store or node_key.json text')
}

export const promises = { readFile: noFiles, writeFile: noFiles, open: noFiles, rename: noFiles, unlink: noFiles, mkdir: noFiles, access: noFiles, link: noFiles, stat: noFiles }
export default { promises }
