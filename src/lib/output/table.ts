import Table from 'cli-table3'

import {colorEnabled} from './color.js'

export type Cell = string | number | boolean | undefined | null

/** Renders rows as a table; plain borders and no colour codes when stdout is not a terminal. */
export function renderTable(
  head: string[],
  rows: Cell[][],
  options: {title?: string; colAligns?: Array<'left' | 'right' | 'center'>} = {},
): string {
  const table = new Table({
    head,
    style: colorEnabled() ? {head: ['cyan']} : {head: [], border: []},
    ...(options.colAligns ? {colAligns: options.colAligns} : {}),
    wordWrap: true,
  })
  for (const row of rows) table.push(row.map((c) => (c === undefined || c === null ? '' : String(c))))
  return (options.title ? `${options.title}\n` : '') + table.toString()
}

/** 1536 → "1.5 KiB" */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }

  return unit === 0 ? `${bytes} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US')
}
