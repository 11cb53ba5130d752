/** Locating data packages installed from npm, with a clear error when one is missing. */
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { VqError } from 'vqlite'

const require = createRequire(import.meta.url)

/** Directory and version of an installed npm package, or a MISSING_DEPENDENCY error saying how to install it. */
export function findPackage(name: string, why: string): { dir: string; version: string } {
  let pj: string
  try {
    pj = require.resolve(`${name}/package.json`)
  } catch (cause) {
    throw new VqError('MISSING_DEPENDENCY', `${why} needs the npm package ${name}; install it with: npm install ${name}`, { cause })
  }
  const { version } = require(pj) as { version: string }
  return { dir: dirname(pj), version }
}
