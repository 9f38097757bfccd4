import {readFileSync} from 'node:fs'

/** custos's own version, from package.json (two folders up from both src/lib and dist/lib). */
export const TOOL_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string}
).version

export const USER_AGENT = `custos/${TOOL_VERSION}`
