// The usage chart's data: the daily series when the relay sends one, else per-provider totals in either
// shape (the original's map, or a list).
import test from 'node:test'
import assert from 'node:assert/strict'
import { usageSeries } from '../usage_data.js'

test('the daily series: days sorted, tokens summed', () => {
  const s = usageSeries({
    providers: { openai: { total: 9, errors: 0 } },
    daily: [
      { day: '2026-11-30', provider: 'openai', requests: 2, errors: 1, input_tokens: 10, output_tokens: 5 },
      { day: '2026-11-29', provider: 'anthropic', requests: 1, errors: 0, input_tokens: 3, output_tokens: 4 },
      { day: 7, provider: 'bad' },
    ],
  })
  assert.equal(s.daily, true)
  assert.deepEqual(s.days, ['2026-11-29', '2026-11-30'])
  assert.deepEqual(s.providers, ['anthropic', 'openai'])
  assert.deepEqual(s.cells.find((c) => c.provider === 'openai'), { day: '2026-11-30', provider: 'openai', requests: 2, errors: 1, tokens: 15 })
})

test("no daily series: the original's per-provider map", () => {
  const s = usageSeries({ total: 3, providers: { openai: { total: 2, errors: 1 }, groq: { total: 1, errors: 0 } } })
  assert.equal(s.daily, false)
  assert.deepEqual(s.days, ['all time'])
  assert.deepEqual(s.cells.map((c) => [c.provider, c.requests]), [['openai', 2], ['groq', 1]])
})

test('no daily series: a list of providers with tokens; an empty daily falls back too', () => {
  const s = usageSeries({ daily: [], providers: [{ provider: 'openai', requests: 4, errors: 0, input_tokens: 7, output_tokens: 8 }] })
  assert.deepEqual(s.cells, [{ day: 'all time', provider: 'openai', requests: 4, errors: 0, tokens: 15 }])
})

test('nothing yet', () => {
  assert.deepEqual(usageSeries({}), { daily: false, days: [], providers: [], cells: [] })
  assert.deepEqual(usageSeries(null).cells, [])
})
