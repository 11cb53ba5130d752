/**
 * Downloads catalogue sets into <cache>/downloads: ann-benchmarks HDF5 files over HTTP(S)
 * and TEXMEX archives over FTP (basic-ftp), extracted with tar. A download goes to
 * NAME.part first and resumes from its length (HTTP Range / FTP REST) when interrupted;
 * it is complete when its length matches the server's, and an HDF5 file must then open
 * (signature and superblock length checked). No network gives a VqStorageError 'NETWORK'
 * that says so. Progress goes through a callback (the CLI draws the bar).
 */
import { createWriteStream, existsSync } from 'node:fs'
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { defaultCacheDir, VqOptionError, VqStorageError } from 'vqlite'
import { type CatalogueEntry, catalogueEntry } from './catalogue.js'

export interface DownloadProgress {
  readonly name: string
  /** Bytes on disk so far (including a resumed part). */
  readonly done: number
  /** Total bytes (0 when the server does not say). */
  readonly total: number
}

export interface DownloadOptions {
  readonly cacheDir?: string
  readonly onProgress?: (p: DownloadProgress) => void
  /** Aborts the transfer (the part file is kept for a later resume). */
  readonly signal?: AbortSignal
}

/** Where a downloaded set lives: the HDF5 file, or the folder the TEXMEX archive was extracted to. */
export function downloadedPath(entry: CatalogueEntry, cacheDir = defaultCacheDir()): string {
  const dir = join(cacheDir, 'downloads')
  return entry.source.kind === 'hdf5' ? join(dir, `${entry.name}.hdf5`) : join(dir, entry.name)
}

/** True when the set is downloaded (and, for TEXMEX, extracted). */
export function isDownloaded(entry: CatalogueEntry, cacheDir = defaultCacheDir()): boolean {
  const p = downloadedPath(entry, cacheDir)
  return entry.source.kind === 'texmex' ? existsSync(join(p, '.complete')) : existsSync(p)
}

/** Downloads a catalogue set (no-op when it is already there); returns its path. */
export async function downloadDataset(name: string, options: DownloadOptions = {}): Promise<string> {
  const entry = catalogueEntry(name)
  if (!entry) throw new VqOptionError('BAD_OPTION', `unknown dataset "${name}" (vqlite datasets list shows the catalogue)`)
  const cacheDir = options.cacheDir ?? defaultCacheDir()
  const target = downloadedPath(entry, cacheDir)
  if (entry.source.kind !== 'hdf5' && entry.source.kind !== 'texmex') {
    throw new VqOptionError(
      'BAD_OPTION',
      `${name} is not downloaded: it ${entry.source.kind === 'npm' ? 'comes with an npm package' : 'is generated'} and works offline`,
    )
  }
  if (isDownloaded(entry, cacheDir)) return target
  await mkdir(join(cacheDir, 'downloads'), { recursive: true })
  const url = entry.source.url
  const archive = entry.source.kind === 'hdf5' ? target : `${target}.tar.gz`
  const part = `${archive}.part`
  await downloadUrl(url, part, (done, total) => options.onProgress?.({ name, done, total }), options.signal)
  await rename(part, archive)
  if (entry.source.kind === 'texmex') {
    const tar = await import('tar')
    await mkdir(target, { recursive: true })
    await tar.x({ file: archive, cwd: target, strip: 1 })
    await rm(archive)
    const files = await readdir(target)
    if (!files.some((f) => f.endsWith('_base.fvecs') || f.endsWith('_base.bvecs'))) {
      throw new VqStorageError('IO_ERROR', `${archive}: the archive holds no *_base.fvecs file (${files.join(', ')})`)
    }
    await writeFile(join(target, '.complete'), new Date().toISOString())
  } else {
    // Opening checks the signature and the superblock's length against the file.
    const { readAnnBenchmarksShape } = await import('./hdf5.js')
    await readAnnBenchmarksShape(target)
  }
  return target
}

/**
 * Downloads url (http, https or ftp) into `part`, resuming from its current length; throws
 * VqStorageError 'NETWORK' when the transfer fails or ends short.
 */
export async function downloadUrl(
  url: string,
  part: string,
  progress: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  if (url.startsWith('ftp://')) await ftpFetch(url, part, progress, signal)
  else await httpFetch(url, part, progress, signal)
}

/** Size of a file, 0 when absent. */
async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size
  } catch {
    return 0
  }
}

function networkError(url: string, e: unknown): VqStorageError {
  const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as { code?: string }).code ?? (e as Error).message
  return new VqStorageError(
    'NETWORK',
    `cannot download ${url}: ${String(cause)}. Is there a network connection? ` +
      'The offline sets (glove100, minilm384, synthetic) need none; a file you already have can be passed by path.',
    { cause: e },
  )
}

async function httpFetch(url: string, part: string, progress: (done: number, total: number) => void, signal?: AbortSignal): Promise<void> {
  const have = await sizeOf(part)
  let res: Response
  try {
    res = await fetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, ...(signal ? { signal } : {}) })
  } catch (e) {
    throw networkError(url, e)
  }
  if (res.status === 416) {
    // The part is already whole (the server has nothing past its end).
    progress(have, have)
    return
  }
  if (!res.ok || !res.body) throw new VqStorageError('NETWORK', `cannot download ${url}: HTTP ${res.status} ${res.statusText}`)
  const resumed = res.status === 206
  const start = resumed ? have : 0
  const length = Number(res.headers.get('content-length') ?? 0)
  const total = length > 0 ? start + length : 0
  let done = start
  progress(done, total)
  const out = createWriteStream(part, { flags: resumed ? 'a' : 'w' })
  const counter = new Writable({
    write(chunk: Buffer, _enc, cb) {
      done += chunk.length
      progress(done, total)
      out.write(chunk, cb)
    },
    final(cb) {
      out.end(cb)
    },
  })
  try {
    await pipeline(res.body as unknown as NodeJS.ReadableStream, counter)
  } catch (e) {
    out.destroy()
    throw networkError(url, e)
  }
  const size = await sizeOf(part)
  if (total > 0 && size !== total) {
    throw new VqStorageError('NETWORK', `${url}: received ${size} of ${total} bytes; run the command again to resume`)
  }
}

async function ftpFetch(url: string, part: string, progress: (done: number, total: number) => void, signal?: AbortSignal): Promise<void> {
  const { Client } = await import('basic-ftp')
  const u = new URL(url)
  const client = new Client(60_000)
  const abort = (): void => client.close()
  signal?.addEventListener('abort', abort)
  try {
    await client.access({ host: u.hostname, port: Number(u.port || 21), user: 'anonymous', password: 'vqlite@', secure: false })
    const remote = decodeURIComponent(u.pathname)
    const total = await client.size(remote)
    const have = await sizeOf(part)
    if (have === total) return progress(have, total)
    const start = have < total ? have : 0
    client.trackProgress((info) => progress(start + info.bytes, total))
    await client.downloadTo(createWriteStream(part, { flags: start > 0 ? 'a' : 'w' }), remote, start)
    const size = await sizeOf(part)
    if (size !== total) throw new VqStorageError('NETWORK', `${url}: received ${size} of ${total} bytes; run the command again to resume`)
  } catch (e) {
    if (e instanceof VqStorageError) throw e
    throw networkError(url, e)
  } finally {
    signal?.removeEventListener('abort', abort)
    client.close()
  }
}
