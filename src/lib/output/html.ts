/**
 * HTML escaping for every page custos renders (access report, incident notices, certificates):
 * text and attribute values alike, so `&`, `<`, `>`, `"` and `'` are all replaced.
 */
export function escapeHtml(text: string | number): string {
  return String(text)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
}
