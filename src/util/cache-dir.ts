/** Where vqlite caches converted data (the GloVe vectors, datasets): $VQLITE_CACHE_DIR, else $XDG_CACHE_HOME/vqlite, else ~/.cache/vqlite. */
import { homedir } from 'node:os'
import { join } from 'node:path'

/** The cache directory (see the module comment for the order of precedence), read from the environment at each call. */
export function defaultCacheDir(): string {
  const env = process.env
  if (env['VQLITE_CACHE_DIR']) return env['VQLITE_CACHE_DIR']
  if (env['XDG_CACHE_HOME']) return join(env['XDG_CACHE_HOME'], 'vqlite')
  return join(homedir(), '.cache', 'vqlite')
}
