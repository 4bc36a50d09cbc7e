// A loopback HTTP server for the client's tests: each test gives the handler; every request is recorded
// (method, path, headers, body) and the server knows when a connection closed before its answer ended.
import http from 'node:http'

export async function startServer(handler) {
  const requests = []
  const closedEarly = []
  const server = http.createServer(async (req, res) => {
    const chunks = []
    for await (const c of req) chunks.push(c)
    const text = Buffer.concat(chunks).toString('utf8')
    let body = text
    try { body = text ? JSON.parse(text) : undefined } catch { /* keep the text */ }
    const record = { method: req.method, path: req.url, headers: req.headers, body }
    requests.push(record)
    res.on('close', () => { if (!res.writableFinished) closedEarly.push(record) })
    try {
      await handler(record, res)
    } catch (err) {
      if (!res.headersSent) res.writeHead(500)
      res.end(String(err))
    }
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${server.address().port}`
  return {
    url,
    requests,
    closedEarly,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }),
  }
}

export function sendJson(res, status, doc, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
  res.end(JSON.stringify(doc))
}

// Starts an event stream and returns a writer of raw text.
export function startSse(res, status = 200) {
  res.writeHead(status, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  res.flushHeaders()
  return (text) => res.write(text)
}

// Waits until check() is true, polling; fails after timeoutMs.
export async function waitFor(check, timeoutMs = 3000, what = 'condition') {
  const until = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
