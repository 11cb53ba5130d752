/**
 * CPU cost of the pieces of an IVF build that scale with n, on this thread, per 1M vectors:
 * assigning vectors to the nlist coarse centroids (what training does for every vector when
 * the codec trains on residuals, and what encoding does again), from a sample.
 *
 *   node --import tsx bench/throughput-assign.ts [--base /work/data/synth1m-base.f32] [--sample 65536] [--nlist 4096] [--dim 128]
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { CoarseQuantizer, getKernels, trainKMeans } from 'vqlite'

const { values } = parseArgs({
  options: {
    base: { type: 'string', default: '/work/data/synth1m-base.f32' },
    dim: { type: 'string', default: '128' },
    sample: { type: 'string', default: '65536' },
    nlist: { type: 'string', default: '4096' },
  },
})
const d = Number(values.dim)
const s = Number(values.sample)
const nlist = Number(values.nlist)
const buf = readFileSync(values.base)
const x = new Float32Array(buf.buffer, buf.byteOffset, Math.min(buf.byteLength / 4, (s + nlist * 16) * d))
const kernels = getKernels()
const cq = new CoarseQuantizer(nlist, d, 'l2', kernels)
// Centroids from a quick k-means of a slice: the assignment cost does not depend on their quality.
const km = trainKMeans(x.subarray(s * d), nlist * 16, d, nlist, { iterations: 1, init: 'random', kernels, maxPointsPerCentroid: 16 })
cq.loadState({ kind: 'ivf', params: { nlist, d }, arrays: { centroids: { shape: [nlist, d], data: km.centroids } } })
const lists = new Int32Array(s)
const dist = new Float32Array(s)
for (let round = 0; round < 3; round++) {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  cq.assign(x, s, lists, dist)
  const c = process.cpuUsage(c0)
  const cpu = (c.user + c.system) / 1e6
  const wall = (performance.now() - t0) / 1000
  console.log(
    `assign ${s} x ${nlist} x ${d} (${kernels.name}): CPU ${cpu.toFixed(2)} s, wall ${wall.toFixed(2)} s; per 1M vectors CPU ${((cpu * 1e6) / s).toFixed(1)} s, ${((s * nlist * d) / cpu / 1e9).toFixed(2)} G multiply-adds/s`,
  )
}
