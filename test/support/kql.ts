/**
 * Evaluates a KQL predicate over one row, for the small part of the language custos generates for
 * customer selection (logs/select.ts customerKql): `or`, `and`, `not()`, `==`, `=~`,
 * `startswith_cs`, `matches regex`, `<=`, `>`, `+`, and the functions `tostring`,
 * `column_ifexists`, `substring` and `strlen`. Anything else is an error, so the test notices
 * when the generator starts using something this reader (and the test's claim) does not cover.
 */
type Value = boolean | number | string

type Token = {kind: 'ident' | 'number' | 'op' | 'string'; text: string}

function tokenize(text: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < text.length) {
    const rest = text.slice(i)
    const space = /^\s+/.exec(rest)
    if (space) {
      i += space[0].length
      continue
    }

    const verbatim = /^@"((?:[^"]|"")*)"/.exec(rest)
    if (verbatim) {
      tokens.push({kind: 'string', text: verbatim[1].replaceAll('""', '"')})
      i += verbatim[0].length
      continue
    }

    const quoted = /^"(?:[^"\\]|\\.)*"/.exec(rest)
    if (quoted) {
      tokens.push({kind: 'string', text: JSON.parse(quoted[0]) as string})
      i += quoted[0].length
      continue
    }

    const number = /^\d+/.exec(rest)
    if (number) {
      tokens.push({kind: 'number', text: number[0]})
      i += number[0].length
      continue
    }

    const ident = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest)
    if (ident) {
      tokens.push({kind: 'ident', text: ident[0]})
      i += ident[0].length
      continue
    }

    const op = /^(==|=~|<=|>|\(|\)|,|\+)/.exec(rest)
    if (!op) throw new Error(`KQL reader: unexpected ${JSON.stringify(rest.slice(0, 20))}`)
    tokens.push({kind: 'op', text: op[0]})
    i += op[0].length
  }

  return tokens
}

/** True when `predicate` holds for `row` (columns by their exact names, as Log Analytics has them). */
export function evaluateKql(predicate: string, row: Record<string, unknown>): boolean {
  const tokens = tokenize(predicate)
  let at = 0
  const peek = () => tokens[at]
  const next = () => tokens[at++]
  const expect = (text: string) => {
    const token = next()
    if (token?.text !== text) throw new Error(`KQL reader: expected ${text}, got ${token?.text}`)
  }

  const str = (v: Value) => (typeof v === 'string' ? v : String(v))
  const num = (v: Value) => {
    if (typeof v !== 'number') throw new Error(`KQL reader: ${JSON.stringify(v)} is not a number`)
    return v
  }

  const call = (name: string, args: Value[]): Value => {
    switch (name) {
      case 'column_ifexists': {
        const value = row[str(args[0])]
        return value === undefined || value === null ? args[1] : (value as Value)
      }

      case 'tostring': {
        return str(args[0])
      }

      case 'substring': {
        const s = str(args[0])
        const start = num(args[1])
        return args.length > 2 ? s.slice(start, start + num(args[2])) : s.slice(start)
      }

      case 'strlen': {
        return str(args[0]).length
      }

      case 'not': {
        return !args[0]
      }

      default: {
        throw new Error(`KQL reader: unknown function ${name}`)
      }
    }
  }

  const primary = (): Value => {
    const token = next()
    if (!token) throw new Error('KQL reader: unexpected end')
    if (token.kind === 'string') return token.text
    if (token.kind === 'number') return Number(token.text)
    if (token.kind === 'op' && token.text === '(') {
      const value = or()
      expect(')')
      return value
    }

    if (token.kind === 'ident') {
      if (token.text === 'true' || token.text === 'false') return token.text === 'true'
      expect('(')
      const args: Value[] = []
      if (peek()?.text !== ')') {
        args.push(or())
        while (peek()?.text === ',') {
          next()
          args.push(or())
        }
      }

      expect(')')
      return call(token.text, args)
    }

    throw new Error(`KQL reader: unexpected ${token.text}`)
  }

  const additive = (): Value => {
    let value = primary()
    while (peek()?.text === '+') {
      next()
      value = num(value) + num(primary())
    }

    return value
  }

  const comparison = (): Value => {
    const left = additive()
    const op = peek()?.text
    switch (op) {
      case '==': {
        next()
        return str(left) === str(additive())
      }

      case '=~': {
        next()
        return str(left).toLowerCase() === str(additive()).toLowerCase()
      }

      case '<=': {
        next()
        return num(left) <= num(additive())
      }

      case '>': {
        next()
        return num(left) > num(additive())
      }

      case 'startswith_cs': {
        next()
        return str(left).startsWith(str(additive()))
      }

      case 'matches': {
        next()
        expect('regex')
        return new RegExp(str(additive())).test(str(left))
      }

      default: {
        return left
      }
    }
  }

  const and = (): Value => {
    let value = comparison()
    while (peek()?.text === 'and') {
      next()
      const right = comparison()
      value = Boolean(value) && Boolean(right)
    }

    return value
  }

  function or(): Value {
    let value = and()
    while (peek()?.text === 'or') {
      next()
      const right = and()
      value = Boolean(value) || Boolean(right)
    }

    return value
  }

  const value = or()
  if (at !== tokens.length) throw new Error(`KQL reader: trailing ${tokens[at].text}`)
  if (typeof value !== 'boolean') throw new Error('KQL reader: the predicate is not boolean')
  return value
}
