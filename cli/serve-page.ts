/**
 * The search page of `vqlite serve`: one static HTML page, inline CSS and JS, no build step
 * and no external URL. It talks to the JSON API of serve.ts. Every text from the index is
 * put in the page as DOM text nodes (never as HTML); a snippet's highlight spans, [start,
 * end) offsets into snippet.text, become <mark> elements.
 */

/** The page's script (its SHA-256 goes in the Content-Security-Policy header). */
export const SEARCH_SCRIPT = `
'use strict'
const $ = (id) => document.getElementById(id)
const form = $('search')
const status = $('status')
const results = $('results')

async function api(path, init) {
  const r = await fetch(path, init)
  const body = await r.json().catch(() => ({ error: { code: 'HTTP_' + r.status, message: r.statusText } }))
  if (!r.ok) throw new Error((body.error && body.error.message) + ' [' + (body.error && body.error.code) + ']')
  return body
}

/** The snippet text with its highlight spans as <mark> elements (text nodes only). */
function snippetNode(snippet) {
  const p = document.createElement('p')
  p.className = 'snippet'
  const text = snippet.text
  let at = 0
  for (const [start, end] of snippet.highlights) {
    if (start < at || end <= start || end > text.length) continue
    p.append(document.createTextNode(text.slice(at, start)))
    const m = document.createElement('mark')
    m.textContent = text.slice(start, end)
    p.append(m)
    at = end
  }
  p.append(document.createTextNode(text.slice(at)))
  return p
}

function show(hits) {
  results.replaceChildren()
  for (const h of hits) {
    const li = document.createElement('li')
    li.className = 'hit'
    const head = document.createElement('div')
    head.className = 'head'
    const src = document.createElement('span')
    src.className = 'source'
    src.textContent = h.source + (h.line !== undefined ? ':' + h.line : '')
    const score = document.createElement('span')
    score.className = 'score'
    score.textContent = 'score ' + h.score.toFixed(4)
    head.append(src, score)
    li.append(head, snippetNode(h.snippet))
    results.append(li)
  }
}

async function loadIndexes() {
  try {
    const { indexes } = await api('/api/stats')
    const sel = $('index')
    for (const ix of indexes) {
      const o = document.createElement('option')
      o.value = ix.name
      o.textContent = ix.name + ' (' + ix.chunks + ' chunks, ' + ix.sources + ' sources)'
      sel.append(o)
    }
    $('index-label').hidden = indexes.length < 2
    status.textContent = indexes.map((ix) => ix.name + ': ' + ix.chunks + ' chunks, ' + ix.sources + ' sources, ' + ix.embedder.name).join('; ')
  } catch (e) {
    status.textContent = 'cannot read the index: ' + e.message
  }
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault()
  const query = $('query').value
  if (query.trim() === '') return
  const body = { query, mode: $('mode').value, k: Number($('k').value) || 10 }
  const prefix = $('prefix').value
  if (prefix !== '') body.filter = { source: { $prefix: prefix } }
  if ($('index').value !== '') body.index = $('index').value
  status.textContent = 'searching...'
  results.setAttribute('aria-busy', 'true')
  try {
    const r = await api('/api/search', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
    show(r.hits)
    status.textContent = r.hits.length + ' results (' + r.mode + ', ' + r.ms.toFixed(1) + ' ms)'
  } catch (e) {
    results.replaceChildren()
    status.textContent = 'error: ' + e.message
  } finally {
    results.removeAttribute('aria-busy')
  }
})

loadIndexes()
`

export const SEARCH_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vqlite search</title>
<style>
  [hidden] { display: none !important; }
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  body { max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
  h1 { font-size: 1.4rem; }
  form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; }
  label { display: flex; flex-direction: column; font-size: .8rem; gap: .2rem; }
  #query { min-width: 20rem; flex: 1; }
  input, select, button { font: inherit; padding: .3rem .5rem; }
  #status { color: GrayText; font-size: .9rem; min-height: 1.2em; }
  ol { padding-left: 1.5rem; }
  .hit { margin: 1rem 0; }
  .head { display: flex; gap: 1rem; align-items: baseline; }
  .source { font-weight: 600; font-family: ui-monospace, monospace; }
  .score { color: GrayText; font-size: .85rem; }
  .snippet { margin: .3rem 0; white-space: pre-wrap; }
  mark { padding: 0 .1em; }
</style>
</head>
<body>
<h1>vqlite search</h1>
<form id="search" role="search">
  <label id="query-label" style="flex: 1">query <input id="query" name="query" type="search" autofocus required></label>
  <label>mode <select id="mode" name="mode"><option value="hybrid">hybrid</option><option value="keyword">keyword</option><option value="vector">vector</option></select></label>
  <label>source prefix <input id="prefix" name="prefix" type="text" placeholder="docs/"></label>
  <label>k <input id="k" name="k" type="number" min="1" max="1000" value="10" style="width: 5rem"></label>
  <label id="index-label" hidden>index <select id="index" name="index"></select></label>
  <button type="submit">Search</button>
</form>
<p id="status" role="status"></p>
<ol id="results"></ol>
<script>${SEARCH_SCRIPT}</script>
</body>
</html>
`
