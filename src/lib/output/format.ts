/**
 * Which format a command's result takes (PRODUCT.md, "Output conventions"): `--format` when given,
 * else the extension of `--output`, else a table — on a terminal and in a pipe or a job log alike.
 * A file format (JSON, CSV, HTML, SARIF) reaches stdout only when asked for; `--json` is the machine
 * output.
 */
import {extname} from 'node:path'

/**
 * `flag` when given; else the format named by `output`'s extension when it is one of `fromExtension`
 * (`.htm` reads as html); else `table`.
 */
export function chooseFormat<F extends string>(
  flag: F | undefined,
  output: string | undefined,
  fromExtension: readonly F[],
): F | 'table' {
  if (flag) return flag
  const extension = output ? extname(output).toLowerCase().slice(1) : ''
  const named = extension === 'htm' ? 'html' : extension
  return fromExtension.find((format) => format === named) ?? 'table'
}
