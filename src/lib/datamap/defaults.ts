/** Defaults of the data map that more than one module derives. */

/** The erase locks' container: `<audit container>-locks`, shortened to stay a valid container name. */
export function defaultLockContainer(auditContainer: string): string {
  return `${auditContainer.slice(0, 57).replace(/-+$/, '')}-locks`
}
