import {Chalk, type ChalkInstance} from 'chalk'

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function colorEnabled(
  stream: NodeJS.WriteStream = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true
  return Boolean(stream.isTTY)
}

function makeChalk(stream: NodeJS.WriteStream = process.stdout): ChalkInstance {
  return new Chalk({level: colorEnabled(stream) ? 1 : 0})
}

/** Colours for stdout, fixed for the whole run. */
export const color: ChalkInstance = makeChalk(process.stdout)
/** Colours for stderr (messages, progress). */
export const errColor: ChalkInstance = makeChalk(process.stderr)
