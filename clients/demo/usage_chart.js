// Draws the usage series as SVG: one stacked bar chart of requests and one of tokens, a bar per day,
// a colour per provider. Only elements and attributes (no inline style), so it works under a strict CSP.

const SVG = 'http://www.w3.org/2000/svg'
const W = 520
const H = 190
const M = { top: 14, right: 10, bottom: 28, left: 48 }

function svgEl(doc, name, attrs = {}, text) {
  const e = doc.createElementNS(SVG, name)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v))
  if (text !== undefined) e.textContent = text
  return e
}

// A round number at or above max, so the axis reads well.
function niceMax(max) {
  if (max <= 0) return 1
  const p = 10 ** Math.floor(Math.log10(max))
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((v) => v >= max)
}

function barChart(doc, { title, metric, unit, series, colour }) {
  const { days, providers, cells } = series
  const value = (day, provider) => cells.filter((c) => c.day === day && c.provider === provider).reduce((s, c) => s + c[metric], 0)
  const totals = days.map((d) => providers.reduce((s, p) => s + value(d, p), 0))
  const top = niceMax(Math.max(2, ...totals))  // at least 0, 1, 2: counts are whole
  const plotW = W - M.left - M.right
  const plotH = H - M.top - M.bottom
  const band = plotW / Math.max(1, days.length)
  const barW = Math.max(2, Math.min(48, band * 0.7))
  const y = (v) => M.top + plotH - (v / top) * plotH

  const svg = svgEl(doc, 'svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, 'data-metric': metric })
  svg.append(svgEl(doc, 'title', {}, title))
  for (const v of [0, top / 2, top]) {
    svg.append(svgEl(doc, 'line', { class: 'grid', x1: M.left, x2: W - M.right, y1: y(v), y2: y(v) }))
    svg.append(svgEl(doc, 'text', { class: 'axis', x: M.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, Number.isInteger(v) ? v : v.toFixed(1)))
  }
  const labelEvery = Math.ceil(days.length / 10)
  days.forEach((day, i) => {
    const x = M.left + i * band + (band - barW) / 2
    let base = 0
    for (const provider of providers) {
      const v = value(day, provider)
      if (v <= 0) continue
      const rect = svgEl(doc, 'rect', {
        class: `bar ${colour(provider)}`, x, y: y(base + v), width: barW, height: Math.max(1, y(base) - y(base + v)),
        'data-day': day, 'data-provider': provider, 'data-value': v,
      })
      rect.append(svgEl(doc, 'title', {}, `${day} · ${provider}: ${v} ${unit}`))
      svg.append(rect)
      base += v
    }
    if (i % labelEvery === 0) {
      const label = /^\d{4}-\d{2}-\d{2}$/.test(day) ? day.slice(5) : day
      svg.append(svgEl(doc, 'text', { class: 'axis', x: x + barW / 2, y: H - 8, 'text-anchor': 'middle' }, label))
    }
  })
  if (totals.every((v) => v === 0)) {
    svg.append(svgEl(doc, 'text', { class: 'empty', x: M.left + plotW / 2, y: M.top + plotH / 4, 'text-anchor': 'middle' },
      `no ${unit} counted yet`))
  }
  const figure = doc.createElement('figure')
  const caption = doc.createElement('figcaption')
  caption.textContent = title
  figure.append(caption, svg)
  return figure
}

/** Replaces the content of `container` with the charts and a legend, or a note when there is no usage. */
export function renderUsageChart(container, series) {
  const doc = container.ownerDocument
  container.replaceChildren()
  if (series.cells.length === 0) {
    const p = doc.createElement('p')
    p.className = 'hint'
    p.textContent = 'No requests yet: send a chat message, then refresh.'
    container.append(p)
    return
  }
  const palette = new Map(series.providers.map((p, i) => [p, `c${i % 8}`]))
  const colour = (p) => palette.get(p)
  const scope = series.daily ? 'per day (UTC)' : 'all time, per provider (no daily series from this relay)'
  container.append(
    barChart(doc, { title: `Requests ${scope}`, metric: 'requests', unit: 'requests', series, colour }),
    barChart(doc, { title: `Tokens (input + output) ${scope}`, metric: 'tokens', unit: 'tokens', series, colour }),
  )
  const legend = doc.createElement('ul')
  legend.className = 'legend'
  for (const p of series.providers) {
    const li = doc.createElement('li')
    const swatch = doc.createElement('span')
    swatch.className = `swatch ${colour(p)}`
    li.append(swatch, doc.createTextNode(p))
    legend.append(li)
  }
  container.append(legend)
}
