// Turns GET /stats into what the usage chart draws: requests and tokens per provider and day, from the
// `daily` series ([{day, provider, requests, errors, input_tokens, output_tokens}]) when the relay sends
// one, else from the per-provider totals (the original's {"openai": {"total", "errors"}} map, or a list
// of {provider, requests, ...}) as a single "all time" column.

const n = (v) => (Number.isFinite(Number(v)) ? Number(v) : 0)

function providerTotals(providers) {
  if (Array.isArray(providers)) {
    return providers
      .filter((p) => p && typeof p.provider === 'string')
      .map((p) => ({ provider: p.provider, requests: n(p.requests ?? p.total), errors: n(p.errors), input_tokens: n(p.input_tokens), output_tokens: n(p.output_tokens) }))
  }
  if (providers && typeof providers === 'object') {
    return Object.entries(providers).map(([provider, p]) => ({
      provider, requests: n(p?.total ?? p?.requests), errors: n(p?.errors), input_tokens: n(p?.input_tokens), output_tokens: n(p?.output_tokens),
    }))
  }
  return []
}

/**
 * @returns {{daily: boolean, days: string[], providers: string[],
 *   cells: Array<{day: string, provider: string, requests: number, errors: number, tokens: number}>}}
 */
export function usageSeries(stats) {
  const daily = Array.isArray(stats?.daily) && stats.daily.length > 0
  const rows = daily
    ? stats.daily.filter((d) => d && typeof d.day === 'string' && typeof d.provider === 'string')
    : providerTotals(stats?.providers).map((p) => ({ ...p, day: 'all time' }))
  const cells = rows.map((r) => ({
    day: r.day,
    provider: r.provider,
    requests: n(r.requests),
    errors: n(r.errors),
    tokens: n(r.input_tokens) + n(r.output_tokens),
  }))
  const days = [...new Set(cells.map((c) => c.day))].sort()
  const providers = [...new Set(cells.map((c) => c.provider))].sort()
  return { daily, days, providers, cells }
}
