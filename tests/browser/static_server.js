// Serves the demo page from its own origin, the way the gateway serves it at /demo/ (the same mapping:
// /demo/client/* is clients/js/src/*, the rest of /demo/* is clients/demo/*), under a strict
// Content-Security-Policy whose violations are reported back here (POST /csp-report). With `proxyTo`,
// every other path is passed to the gateway there, so the page and the API share one origin, as when the
// gateway itself serves /demo/.
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { ROOT } from '../clients/lib/suite.js'

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' }
const MOUNTS = [
  ['/demo/client/', path.join(ROOT, 'clients/js/src')],
  ['/demo/', path.join(ROOT, 'clients/demo')],
]

// The file a URL path names, or null; never outside its mount.
export function demoFile(urlPath) {
  if (urlPath === '/demo/') urlPath = '/demo/index.html'
  for (const [prefix, dir] of MOUNTS) {
    if (!urlPath.startsWith(prefix)) continue
    const rel = decodeURIComponent(urlPath.slice(prefix.length))
    const file = path.resolve(dir, rel)
    if (!file.startsWith(dir + path.sep) || !TYPES[path.extname(file)]) return null
    return fs.existsSync(file) && fs.statSync(file).isFile() ? file : null
  }
  return null
}

// Passes one request to the gateway and its answer back, streaming both ways; a client that leaves
// ends the gateway request too.
function proxy(req, res, target) {
  const upstream = http.request(new URL(req.url, target), { method: req.method, headers: { ...req.headers, host: new URL(target).host } })
  upstream.on('response', (answer) => {
    res.writeHead(answer.statusCode, answer.headers)
    answer.pipe(res)
  })
  upstream.on('error', () => { if (!res.headersSent) res.writeHead(502); res.end() })
  res.on('close', () => { if (!res.writableFinished) upstream.destroy() })
  req.pipe(upstream)
}

/** @param {{csp: string, proxyTo?: string}} options */
export async function startStaticServer({ csp, proxyTo }) {
  const cspReports = []
  const served = []
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x')
    if (proxyTo && !url.pathname.startsWith('/demo') && url.pathname !== '/csp-report') return proxy(req, res, proxyTo)
    if (req.method === 'POST' && url.pathname === '/csp-report') {
      const chunks = []
      for await (const c of req) chunks.push(c)
      cspReports.push(Buffer.concat(chunks).toString('utf8'))
      res.writeHead(204)
      return res.end()
    }
    if (url.pathname === '/demo') {
      res.writeHead(301, { location: '/demo/' })
      return res.end()
    }
    const file = req.method === 'GET' ? demoFile(url.pathname) : null
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' })
      return res.end('not found')
    }
    served.push(url.pathname)
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)],
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    })
    res.end(fs.readFileSync(file))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    cspReports,
    served,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}

// Run on its own to try the demo by hand: `node tests/browser/static_server.js` (no CSP connect limit).
if (import.meta.url === `file://${process.argv[1]}`) {
  const s = await startStaticServer({ csp: "default-src 'self'; connect-src *" })
  console.log(`demo on ${s.url}/demo/?relay=http://localhost:3000`)
}
