/**
 * "Did you mean …?" for a mistyped command when nobody can answer a prompt. @oclif/plugin-not-found
 * asks "Did you mean customer:erase?" on a terminal, but off a terminal (a job, a pipe, CI) it prints
 * no suggestion at all; this hook prints one there, on stderr, and leaves the exit (127) to the plugin.
 * Topics count as well as commands, so `custos custmer` suggests `custos customer`.
 */
import type {Hook} from '@oclif/core'

const hook: Hook.CommandNotFound = async function (options) {
  if (process.stdin.isTTY) return
  const known = [...options.config.commandIDs, ...options.config.topics.map((t) => t.name)]
  const suggestion = closestCommand(options.id, known)
  if (suggestion) process.stderr.write(`Did you mean "${options.config.bin} ${suggestion.replaceAll(':', ' ')}"?\n`)
}

export default hook

/**
 * The known id (command or topic, `customer:erase` or `customer`) nearest to what was typed, or
 * undefined when nothing is near: the leading parts of `typed` (`custmer:inventory:acme`,
 * `custmer:inventory`, `custmer`) are compared, longest first, because what follows a command may be
 * its arguments.
 */
export function closestCommand(typed: string, known: readonly string[]): string | undefined {
  const words = typed.split(':')
  // The longest leading part that is near a known id wins: `customer:exprt` → `customer:export`, not `customer`.
  for (let n = words.length; n > 0; n--) {
    const prefix = words.slice(0, n).join(':')
    let best: {id: string; distance: number} | undefined
    for (const id of known) {
      const distance = editDistance(prefix, id)
      // near enough: a third of the id may be wrong (at least one letter)
      if (distance <= Math.max(1, Math.floor(id.length / 3)) && (!best || distance < best.distance))
        best = {id, distance}
    }

    if (best) return best.id
  }

  return undefined
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    previous = current
  }

  return previous[b.length]
}
