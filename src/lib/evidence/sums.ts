/**
 * `SHA256SUMS` in GNU coreutils' format, checkable with `sha256sum -c SHA256SUMS`: `<hex>  <name>`,
 * and for a name with a backslash or a line break, a leading `\` with those escaped (`\\`, `\n`,
 * `\r`) as `sha256sum` writes and reads them — an unescaped line break would split one entry
 * into two lines. evidence/contents.ts reads both forms back.
 */

export interface SumsEntry {
  path: string
  sha256: string
}

/** One line of SHA256SUMS, with its line end. */
export function sha256sumsLine(sha256: string, path: string): string {
  if (!/[\\\n\r]/.test(path)) return `${sha256}  ${path}\n`
  return `\\${sha256}  ${path
    .replaceAll('\\', '\\\\')
    .replaceAll('\n', String.raw`\n`)
    .replaceAll('\r', String.raw`\r`)}\n`
}

/** The whole SHA256SUMS of `entries`, in their order. */
export function sha256sums(entries: readonly SumsEntry[]): string {
  return entries.map((e) => sha256sumsLine(e.sha256, e.path)).join('')
}
