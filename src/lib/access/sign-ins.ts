/**
 * What security teams look for in sign-ins beyond counts (README "Sign-in findings"): interrupts
 * told apart from failures, password spray, MFA denied, single-factor sign-ins of privileged
 * principals, legacy authentication, sign-in attempts to disabled accounts and impossible travel.
 * Fed with the sign-in events of the streamed sources (activity log, archive); memory grows with
 * principals, failing IPs and the distinct places a principal signs in from, not with events.
 */
import type {AccessEvent, SignInFinding, SignInFindingType} from './types.js'

/**
 * Result codes that interrupt a sign-in to ask for something more — a second factor, MFA
 * registration, consent, "keep me signed in", a device, an account choice — rather than reject a
 * credential. They count as `interrupts`, not `failures`. Meanings from Microsoft's list of Entra
 * authentication and authorization error codes (learn.microsoft.com/entra/identity-platform/reference-error-codes);
 * the grouping as interrupts is custos's (the sign-in log marks these sign-ins "Interrupted").
 */
export const INTERRUPT_CODES: ReadonlyMap<string, string> = new Map([
  ['16000', 'InteractionRequired: the user must choose an account'],
  ['50058', 'UserInformationNotProvided: silent sign-in without a session (the app asks interactively next)'],
  ['50072', 'UserStrongAuthEnrollmentRequiredInterrupt: MFA registration required'],
  ['50074', 'UserStrongAuthClientAuthNRequiredInterrupt: strong authentication (MFA) required'],
  ['50076', 'UserStrongAuthClientAuthNRequired: MFA required (location or policy)'],
  ['50079', 'UserStrongAuthEnrollmentRequired: MFA registration required'],
  ['50097', 'DeviceAuthenticationRequired'],
  ['50125', 'PasswordResetRegistrationRequiredInterrupt: password reset or registration entry'],
  ['50129', 'DeviceIsNotWorkplaceJoined: workplace join required'],
  ['50140', "KmsiInterrupt: the 'keep me signed in' question"],
  ['50158', 'ExternalSecurityChallenge: an external challenge (e.g. conditional access) not yet satisfied'],
  ['50199', 'CmsiInterrupt: the user is asked to confirm'],
  ['65001', 'DelegationDoesNotExist: consent required'],
])

/** The user (or the MFA method) refused the second factor (same source). */
const MFA_DENIED_CODES: ReadonlySet<string> = new Set(['500121'])
/** UserDisabled: the account is disabled (same source; `signinlogs-la-export-training-lab-disable_accounts.csv`). */
const DISABLED_ACCOUNT_CODE = '50057'

/**
 * `clientAppUsed` values of legacy authentication (Basic auth, no MFA possible), from Microsoft's
 * Conditional Access "client apps" condition and the sign-in log's client-app filter. Modern
 * clients report `Browser` or `Mobile Apps and Desktop clients`.
 */
const LEGACY_CLIENT_APPS: ReadonlySet<string> = new Set(
  [
    'Authenticated SMTP',
    'AutoDiscover',
    'Exchange ActiveSync',
    'Exchange Online PowerShell',
    'Exchange Web Services',
    'IMAP4',
    'IMAP',
    'MAPI Over HTTP',
    'Offline Address Book',
    'Other clients',
    'Outlook Anywhere (RPC over HTTP)',
    'POP3',
    'POP',
    'Reporting Web Services',
    'SMTP',
    'Universal Outlook',
  ].map((a) => a.toLowerCase()),
)

/**
 * Impossible travel: two successful sign-ins of one principal further apart than this speed allows
 * (faster than any airliner's ~900 km/h cruise) and at least {@link MIN_TRAVEL_KM} apart (closer
 * places are within the error of IP geolocation).
 */
const MAX_TRAVEL_SPEED_KMH = 1000
const MIN_TRAVEL_KM = 500
/** places are kept per principal once per this interval (memory stays bounded) */
const PLACE_BUCKET_MS = 10 * 60_000

export function isInterrupt(code: string | undefined): boolean {
  return code !== undefined && INTERRUPT_CODES.has(code)
}

/** Great-circle distance in km (haversine, mean Earth radius). */
export function distanceKm(a: {lat: number; lon: number}, b: {lat: number; lon: number}): number {
  const rad = Math.PI / 180
  const dLat = (b.lat - a.lat) * rad
  const dLon = (b.lon - a.lon) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)))
}

export interface SignInAnalyzerOptions {
  /** principals (lower-case UPNs or names) that hold privileged roles: access.expected.privileged */
  privileged: readonly string[]
  /** distinct accounts one IP must fail on within `sprayWindowInMs` */
  sprayAccounts: number
  sprayWindowInMs: number
}

interface Tally {
  events: number
  first: number
  last: number
  ips: Set<string>
  detail?: string
}

export class SignInAnalyzer {
  /** ip → window bucket → accounts that failed */
  private readonly spray = new Map<string, Map<number, Set<string>>>()
  private readonly tallies = new Map<SignInFindingType, Map<string, Tally>>()
  /** principal → place bucket key → {time, lat, lon} */
  private readonly places = new Map<string, Map<string, {time: number; lat: number; lon: number}>>()
  private readonly privileged: Set<string>
  private readonly halfWindow: number

  constructor(readonly options: SignInAnalyzerOptions) {
    this.halfWindow = Math.max(1, Math.floor(options.sprayWindowInMs / 2))
    this.privileged = new Set(options.privileged.map((p) => p.toLowerCase()))
  }

  private tally(type: SignInFindingType, e: AccessEvent, detail?: string): void {
    let byPrincipal = this.tallies.get(type)
    if (!byPrincipal) this.tallies.set(type, (byPrincipal = new Map()))
    const t = byPrincipal.get(e.principal) ?? {events: 0, first: e.time, last: e.time, ips: new Set<string>()}
    t.events++
    t.first = Math.min(t.first, e.time)
    t.last = Math.max(t.last, e.time)
    if (e.ip && t.ips.size < 20) t.ips.add(e.ip)
    if (detail) t.detail = detail
    byPrincipal.set(e.principal, t)
  }

  /** One sign-in event in the report range. */
  add(e: AccessEvent): void {
    if (e.kind !== 'sign-in') return
    const failure = !e.success && !e.interrupt
    if (failure && e.ip) {
      const bucket = Math.floor(e.time / this.halfWindow)
      let byBucket = this.spray.get(e.ip)
      if (!byBucket) this.spray.set(e.ip, (byBucket = new Map()))
      // buckets of half a window; set b holds [(b-1)·half, (b+1)·half): windows of the full width, every half window
      for (const b of [bucket, bucket + 1]) {
        const set = byBucket.get(b) ?? new Set<string>()
        set.add(e.principal)
        byBucket.set(b, set)
      }
    }

    if (e.errorCode && MFA_DENIED_CODES.has(e.errorCode)) this.tally('mfa-denied', e)
    else if (!e.success && /mfa denied|declined the authentication/i.test(e.detail ?? '')) this.tally('mfa-denied', e)
    if (e.errorCode === DISABLED_ACCOUNT_CODE) this.tally('disabled-account', e)
    if (e.clientApp && LEGACY_CLIENT_APPS.has(e.clientApp.toLowerCase())) this.tally('legacy-auth', e, e.clientApp)
    if (
      e.success &&
      this.privileged.has(e.principal) &&
      e.authRequirement === 'singleFactorAuthentication' &&
      (e.category ?? 'SignInLogs').toLowerCase() === 'signinlogs' &&
      !/mfa/i.test(e.detail ?? '')
    )
      this.tally('single-factor-privileged', e)
    if (e.success && e.geo && !(e.geo.lat === 0 && e.geo.lon === 0)) {
      let byKey = this.places.get(e.principal)
      if (!byKey) this.places.set(e.principal, (byKey = new Map()))
      const key = `${Math.floor(e.time / PLACE_BUCKET_MS)}|${e.geo.lat.toFixed(1)}|${e.geo.lon.toFixed(1)}`
      if (!byKey.has(key)) byKey.set(key, {time: e.time, lat: e.geo.lat, lon: e.geo.lon})
    }
  }

  findings(): SignInFinding[] {
    const out: SignInFinding[] = []
    const iso = (t: number) => new Date(t).toISOString()
    // password spray: per IP, the windows with failures across enough accounts, merged into one finding
    for (const [ip, byBucket] of [...this.spray].sort(([a], [b]) => a.localeCompare(b))) {
      const hits = [...byBucket]
        .filter(([, accounts]) => accounts.size >= this.options.sprayAccounts)
        .sort(([a], [b]) => a - b)
      if (hits.length === 0) continue
      const accounts = new Set(hits.flatMap(([, set]) => [...set]))
      const from = (hits[0][0] - 1) * this.halfWindow
      const to = (hits.at(-1)![0] + 1) * this.halfWindow
      out.push({
        type: 'password-spray',
        principal: ip,
        events: accounts.size,
        firstSeen: iso(from),
        lastSeen: iso(to),
        ips: [ip],
        accounts: [...accounts].sort(),
        message: `${ip} failed to sign in to ${accounts.size} different accounts within ${Math.round(this.options.sprayWindowInMs / 60_000)} min (password spray).`,
      })
    }

    const words: Record<
      Exclude<SignInFindingType, 'password-spray' | 'impossible-travel'>,
      (p: string, t: Tally) => string
    > = {
      'mfa-denied': (p, t) => `${p} denied or failed the second factor ${t.events} time${t.events === 1 ? '' : 's'}.`,
      'disabled-account': (p, t) =>
        `Someone tried to sign in ${t.events} time${t.events === 1 ? '' : 's'} to the disabled account ${p}.`,
      'legacy-auth': (p, t) =>
        `${p} signed in ${t.events} time${t.events === 1 ? '' : 's'} with a legacy authentication client (${t.detail}), which cannot do MFA.`,
      'single-factor-privileged': (p, t) =>
        `${p} holds a privileged role (access.expected.privileged) and signed in ${t.events} time${t.events === 1 ? '' : 's'} with single-factor authentication.`,
    }
    for (const type of Object.keys(words) as Array<keyof typeof words>) {
      for (const [principal, t] of [...(this.tallies.get(type) ?? new Map<string, Tally>())].sort(([a], [b]) =>
        a.localeCompare(b),
      ))
        out.push({
          type,
          principal,
          events: t.events,
          firstSeen: iso(t.first),
          lastSeen: iso(t.last),
          ips: [...t.ips].sort(),
          ...(t.detail ? {clientApp: t.detail} : {}),
          message: words[type](principal, t),
        })
    }

    for (const [principal, byKey] of [...this.places].sort(([a], [b]) => a.localeCompare(b))) {
      const points = [...byKey.values()].sort((a, b) => a.time - b.time)
      for (let i = 1; i < points.length; i++) {
        const a = points[i - 1]
        const b = points[i]
        const km = distanceKm(a, b)
        // the slack of one place bucket keeps the estimate on the safe side
        const hours = (b.time - a.time + PLACE_BUCKET_MS) / 3_600_000
        if (km < MIN_TRAVEL_KM || km / hours <= MAX_TRAVEL_SPEED_KMH) continue
        out.push({
          type: 'impossible-travel',
          principal,
          events: 2,
          firstSeen: iso(a.time),
          lastSeen: iso(b.time),
          ips: [],
          distanceKm: Math.round(km),
          message: `${principal} signed in successfully ${Math.round(km)} km apart within ${Math.max(1, Math.round((b.time - a.time) / 60_000))} min (faster than ${MAX_TRAVEL_SPEED_KMH} km/h).`,
        })
      }
    }

    return out
  }
}
