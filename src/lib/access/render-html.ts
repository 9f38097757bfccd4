/**
 * The access report as one self-contained HTML page: inline CSS, inline SVG charts drawn here (sign-ins
 * per day stacked by success and failure, top principals, countries), no script, and a
 * Content-Security-Policy that forbids every fetch, so the file shows the same offline as online.
 */
import {formatDuration} from '../duration.js'
import {escapeHtml} from '../output/html.js'
import {describeSkipped} from './render-text.js'
import type {AccessReport, Finding} from './types.js'

const COLORS = {
  success: '#2f7d32',
  failure: '#c62828',
  operations: '#1f5fa8',
  allowed: '#2f7d32',
  notAllowed: '#c62828',
  grid: '#d0d4da',
  text: '#1d2330',
  muted: '#5d6675',
}

function fmt(n: number): string {
  return n.toLocaleString('en-US')
}

/** A "nice" axis maximum (1, 2, 5 × 10^k) at or above `max`. */
function niceMax(max: number): number {
  if (max <= 0) return 1
  const power = 10 ** Math.floor(Math.log10(max))
  for (const m of [1, 2, 5, 10]) if (m * power >= max) return m * power
  return 10 * power
}

function emptyChart(id: string, title: string, text: string): string {
  return `<svg class="chart" data-chart="${id}" role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 720 80" width="720" height="80" xmlns="http://www.w3.org/2000/svg"><text x="360" y="44" text-anchor="middle" fill="${COLORS.muted}" font-size="14">${escapeHtml(text)}</text></svg>`
}

/** Sign-ins per day, a bar per day stacked: successful below, failed on top. */
function dailyChart(report: AccessReport): string {
  const days = report.daily
  const title = 'Sign-ins per day (successful and failed)'
  if (days.length === 0) return emptyChart('daily', title, 'No sign-ins in this range')
  const width = 720
  const height = 260
  const left = 48
  const right = 12
  const top = 16
  const bottom = 48
  const plotW = width - left - right
  const plotH = height - top - bottom
  const max = niceMax(Math.max(...days.map((d) => d.signIns)))
  const slot = plotW / days.length
  const barW = Math.max(1, Math.min(40, slot * 0.75))
  const y = (v: number) => top + plotH - (v / max) * plotH
  const parts: string[] = []
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i
    const gy = y(v).toFixed(1)
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${gy}" y2="${gy}" stroke="${COLORS.grid}" stroke-width="1"/>`,
    )
    parts.push(
      `<text x="${left - 6}" y="${gy}" dy="4" text-anchor="end" font-size="11" fill="${COLORS.muted}">${fmt(Math.round(v))}</text>`,
    )
  }

  const labelEvery = Math.max(1, Math.ceil(days.length / 12))
  days.forEach((d, i) => {
    const x = left + i * slot + (slot - barW) / 2
    const ok = d.signIns - d.failures
    const okH = (ok / max) * plotH
    const failH = (d.failures / max) * plotH
    const base = top + plotH
    if (ok > 0)
      parts.push(
        `<rect class="bar success" x="${x.toFixed(1)}" y="${(base - okH).toFixed(1)}" width="${barW.toFixed(1)}" height="${okH.toFixed(1)}" fill="${COLORS.success}"><title>${escapeHtml(`${d.day}: ${fmt(ok)} successful`)}</title></rect>`,
      )
    if (d.failures > 0)
      parts.push(
        `<rect class="bar failure" x="${x.toFixed(1)}" y="${(base - okH - failH).toFixed(1)}" width="${barW.toFixed(1)}" height="${failH.toFixed(1)}" fill="${COLORS.failure}"><title>${escapeHtml(`${d.day}: ${fmt(d.failures)} failed`)}</title></rect>`,
      )
    if (i % labelEvery === 0)
      parts.push(
        `<text x="${(x + barW / 2).toFixed(1)}" y="${base + 16}" text-anchor="middle" font-size="11" fill="${COLORS.muted}">${escapeHtml(d.day.slice(5))}</text>`,
      )
  })
  parts.push(
    `<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="${COLORS.text}" stroke-width="1"/>`,
  )
  const legendY = height - 10
  parts.push(
    `<rect x="${left}" y="${legendY - 10}" width="12" height="12" fill="${COLORS.success}"/><text x="${left + 18}" y="${legendY}" font-size="12" fill="${COLORS.text}">successful</text>`,
    `<rect x="${left + 110}" y="${legendY - 10}" width="12" height="12" fill="${COLORS.failure}"/><text x="${left + 128}" y="${legendY}" font-size="12" fill="${COLORS.text}">failed</text>`,
  )
  return `<svg class="chart" data-chart="daily" role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`
}

interface Bar {
  label: string
  segments: Array<{value: number; color: string; name: string}>
}

function horizontalBars(id: string, title: string, bars: Bar[], empty: string): string {
  if (bars.length === 0) return emptyChart(id, title, empty)
  const width = 720
  const labelW = 260
  const right = 70
  const rowH = 24
  const top = 8
  const height = top + bars.length * rowH + 8
  const max = niceMax(Math.max(...bars.map((b) => b.segments.reduce((n, s) => n + s.value, 0))))
  const plotW = width - labelW - right
  const parts: string[] = []
  bars.forEach((b, i) => {
    const yy = top + i * rowH
    const label = b.label.length > 38 ? `${b.label.slice(0, 36)}…` : b.label
    parts.push(
      `<text x="${labelW - 8}" y="${yy + 16}" text-anchor="end" font-size="12" fill="${COLORS.text}">${escapeHtml(label)}<title>${escapeHtml(b.label)}</title></text>`,
    )
    let x = labelW
    let total = 0
    for (const s of b.segments) {
      if (s.value <= 0) continue
      const w = Math.max(1, (s.value / max) * plotW)
      parts.push(
        `<rect class="bar" x="${x.toFixed(1)}" y="${yy + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${s.color}"><title>${escapeHtml(`${b.label}: ${fmt(s.value)} ${s.name}`)}</title></rect>`,
      )
      x += w
      total += s.value
    }

    parts.push(
      `<text x="${(x + 6).toFixed(1)}" y="${yy + 16}" font-size="12" fill="${COLORS.muted}">${fmt(total)}</text>`,
    )
  })
  return `<svg class="chart" data-chart="${id}" role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`
}

function topPrincipalsChart(report: AccessReport, limit = 10): string {
  const bars = report.principals.slice(0, limit).map((p) => ({
    label: p.principal,
    segments: [
      {value: p.signIns - p.failures, color: COLORS.success, name: 'successful sign-ins'},
      {value: p.failures, color: COLORS.failure, name: 'failed sign-ins'},
      {value: p.operations, color: COLORS.operations, name: 'operations'},
    ],
  }))
  return horizontalBars(
    'principals',
    `Top ${limit} principals by sign-ins and operations`,
    bars,
    'No principals in this range',
  )
}

function countriesChart(report: AccessReport, limit = 15): string {
  const allowed = new Set(report.settings.allowedCountries)
  const bars = report.countries.slice(0, limit).map((c) => ({
    label: `${c.country}${allowed.has(c.country) ? '' : ' (not allowed)'}`,
    segments: [
      {value: c.signIns, color: allowed.has(c.country) ? COLORS.allowed : COLORS.notAllowed, name: 'sign-ins'},
    ],
  }))
  return horizontalBars('countries', 'Sign-ins by country', bars, 'No sign-in carried a country')
}

function findingDetail(f: Finding): string {
  switch (f.type) {
    case 'country-not-allowed': {
      return `${f.country}: ${fmt(f.signIns)} sign-ins from ${f.ips.join(', ')} (${f.firstSeen} – ${f.lastSeen})`
    }

    case 'failure-burst': {
      return `${fmt(f.failures)} failures (${f.from} – ${f.to})`
    }

    case 'new-ip': {
      return `${f.ip}: ${fmt(f.events)} events, first ${f.firstSeen}`
    }

    case 'off-hours': {
      return `${fmt(f.events)} events (${f.firstSeen} – ${f.lastSeen})`
    }

    default: {
      return f.message
    }
  }
}

const CSS = `
:root{color-scheme:light}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:${COLORS.text};margin:0;background:#f5f6f8}
main{max-width:1040px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}
.muted{color:${COLORS.muted}}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid ${COLORS.grid};border-radius:6px;padding:10px 16px;min-width:120px}
.card b{display:block;font-size:22px}
.panel{background:#fff;border:1px solid ${COLORS.grid};border-radius:6px;padding:12px;overflow-x:auto}
.chart{max-width:100%;height:auto;display:block}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{border:1px solid ${COLORS.grid};padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef0f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.tag{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-size:12px;white-space:nowrap}
.tag.country-not-allowed,.tag.failure-burst{background:${COLORS.failure}}
.tag.new-ip{background:#b26a00}.tag.off-hours{background:${COLORS.operations}}
.ok{color:${COLORS.success}}
`

export function renderAccessHtml(report: AccessReport): string {
  const t = report.totals
  const title = `Access report ${report.range.since} – ${report.range.until}${report.customer ? ` (customer ${report.customer})` : ''}`
  const card = (label: string, value: number) =>
    `<div class="card"><span class="muted">${escapeHtml(label)}</span><b>${fmt(value)}</b></div>`
  const findings =
    report.findings.length === 0
      ? '<p class="ok">No findings.</p>'
      : `<table><thead><tr><th>finding</th><th>principal</th><th>detail</th></tr></thead><tbody>${report.findings
          .map(
            (f) =>
              `<tr><td><span class="tag ${f.type}">${escapeHtml(f.type)}</span></td><td>${escapeHtml(f.principal)}</td><td>${escapeHtml(findingDetail(f))}</td></tr>`,
          )
          .join('')}</tbody></table>`
  const principals = `<table><thead><tr><th>principal</th><th>sign-ins</th><th>failures</th><th>operations</th><th>source IPs</th><th>countries</th><th>first seen</th><th>last seen</th><th>off hours</th></tr></thead><tbody>${report.principals
    .map(
      (p) =>
        `<tr><td>${escapeHtml(p.principal)}</td><td class="num">${fmt(p.signIns)}</td><td class="num">${fmt(p.failures)}${
          p.failures > 0
            ? ` <span class="muted">(${escapeHtml(
                Object.entries(p.failuresByCode)
                  .map(([c, n]) => `${c}: ${n}`)
                  .join(', '),
              )})</span>`
            : ''
        }</td><td class="num">${fmt(p.operations)}</td><td>${escapeHtml(p.ips.join(', '))}</td><td>${escapeHtml(p.countries.join(', '))}</td><td>${escapeHtml(p.firstSeen)}</td><td>${escapeHtml(p.lastSeen)}</td><td class="num">${fmt(p.offHours)}</td></tr>`,
    )
    .join('')}</tbody></table>`
  const sources = report.sources
    .map(
      (s) =>
        `<li>${escapeHtml(s.name)} <span class="muted">${escapeHtml(s.target)}</span>: ${fmt(s.events)} events${s.skipped?.length ? `; ${escapeHtml(describeSkipped(s.skipped))}` : ''}${s.notes?.length ? ` — ${escapeHtml(s.notes.join('; '))}` : ''}</li>`,
    )
    .join('')
  const st = report.settings
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p class="muted">Generated ${escapeHtml(report.generatedAt)} by custos. Allowed countries: ${escapeHtml(st.allowedCountries.join(', ') || 'none')}; working hours ${escapeHtml(st.workingHours)} on days ${escapeHtml(st.workingDays.join(','))} (${escapeHtml(st.timeZone)}); a burst is ${st.burstFailures} failed sign-ins within ${escapeHtml(formatDuration(st.burstWindowInMs))}.</p>
<div class="cards">${card('principals', t.principals)}${card('sign-ins', t.signIns)}${card('failed sign-ins', t.failures)}${card('operations', t.operations)}${card('findings', t.findings)}</div>
<h2>Sign-ins per day</h2>
<div class="panel">${dailyChart(report)}</div>
<h2>Top principals</h2>
<div class="panel">${topPrincipalsChart(report)}</div>
<h2>Countries</h2>
<div class="panel">${countriesChart(report)}</div>
<h2>Findings</h2>
${findings}
<h2>Principals</h2>
${principals}
<h2>Sources</h2>
<ul>${sources}</ul>
</main>
</body>
</html>
`
}
