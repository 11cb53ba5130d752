/** Per-file setup: the run's temporary dataset cache (see cache-dir.ts) replaces the user's. */
import { inject } from 'vitest'

process.env['VQLITE_CACHE_DIR'] = inject('vqliteCacheDir')
