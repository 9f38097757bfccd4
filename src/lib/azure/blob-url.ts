/** Blob URLs as custos writes them where it builds requests itself (Blob Batch parts, small reads). */

/**
 * A blob name as a URL path, encoded as the SDK's clients encode it: each `/`-separated segment
 * with encodeURIComponent, and `'` as `%27` too.
 */
export function escapeBlobName(name: string): string {
  return name
    .split('/')
    .map((segment) => encodeURIComponent(segment).replaceAll("'", '%27'))
    .join('/')
}
