import {NOTICE_STYLE} from './style.js'

/**
 * Die eingebaute deutsche Meldung. Als TypeScript-Modul gehalten, damit `tsc` sie nach dist/
 * ausliefert; mit `--template DIR` (notice.de.txt / notice.de.html, gleiche Platzhalter) ersetzbar.
 */
export const text = `Betreff: Meldung einer Verletzung des Schutzes personenbezogener Daten - Vorfall {{incident}}

An: {{customer}}

gemäß unserem Vertrag zur Auftragsverarbeitung und Art. 33 DSGVO informieren wir Sie über einen
Sicherheitsvorfall, der personenbezogene Daten betrifft, die wir in Ihrem Auftrag verarbeiten.

Vorfall:           {{incident}}
Festgestellt:      {{detectedAt}} ({{detectedAtUtc}})
Meldung vom:       {{issuedAt}} ({{issuedAtUtc}})

Zusammenfassung
{{summary}}

1. Art der Verletzung des Schutzes personenbezogener Daten (Art. 33 Abs. 3 lit. a DSGVO)
{{nature}}

Kategorien der betroffenen Personen: {{subjectCategories}}
Ungefähre Zahl der betroffenen Personen: {{subjects}}
Kategorien der betroffenen personenbezogenen Datensätze: {{dataCategories}}
Ungefähre Zahl der betroffenen personenbezogenen Datensätze: {{records}}

2. Anlaufstelle für weitere Informationen (Art. 33 Abs. 3 lit. b DSGVO)
{{contact}}

3. Wahrscheinliche Folgen der Verletzung (Art. 33 Abs. 3 lit. c DSGVO)
{{consequences}}

4. Ergriffene oder vorgeschlagene Maßnahmen zur Behebung der Verletzung und gegebenenfalls
   Maßnahmen zur Abmilderung ihrer möglichen nachteiligen Auswirkungen (Art. 33 Abs. 3 lit. d DSGVO)
{{measures}}

Soweit Informationen noch nicht vorliegen, stellen wir sie ohne unangemessene weitere
Verzögerung schrittweise zur Verfügung (Art. 33 Abs. 4 DSGVO).
`

export const html = `<!doctype html>
<html lang="de">
<head>
<meta charset="utf-8">
<title>Meldung einer Verletzung des Schutzes personenbezogener Daten - Vorfall {{incident}}</title>
${NOTICE_STYLE}
</head>
<body>
<h1>Meldung einer Verletzung des Schutzes personenbezogener Daten</h1>
<p>An: {{customer}}</p>
<p>Gemäß unserem Vertrag zur Auftragsverarbeitung und Art. 33 DSGVO informieren wir Sie über einen Sicherheitsvorfall, der personenbezogene Daten betrifft, die wir in Ihrem Auftrag verarbeiten.</p>
<table>
<tr><td>Vorfall</td><td>{{incident}}</td></tr>
<tr><td>Festgestellt</td><td>{{detectedAt}} <span class="muted">({{detectedAtUtc}})</span></td></tr>
<tr><td>Meldung vom</td><td>{{issuedAt}} <span class="muted">({{issuedAtUtc}})</span></td></tr>
</table>
<h2>Zusammenfassung</h2>
<p>{{summary}}</p>
<h2>1. Art der Verletzung des Schutzes personenbezogener Daten <span class="muted">(Art. 33 Abs. 3 lit. a DSGVO)</span></h2>
<p>{{nature}}</p>
<table>
<tr><td>Kategorien der betroffenen Personen</td><td>{{subjectCategories}}</td></tr>
<tr><td>Ungefähre Zahl der betroffenen Personen</td><td>{{subjects}}</td></tr>
<tr><td>Kategorien der betroffenen personenbezogenen Datensätze</td><td>{{dataCategories}}</td></tr>
<tr><td>Ungefähre Zahl der betroffenen personenbezogenen Datensätze</td><td>{{records}}</td></tr>
</table>
<h2>2. Anlaufstelle für weitere Informationen <span class="muted">(Art. 33 Abs. 3 lit. b DSGVO)</span></h2>
<p>{{contact}}</p>
<h2>3. Wahrscheinliche Folgen der Verletzung <span class="muted">(Art. 33 Abs. 3 lit. c DSGVO)</span></h2>
<p>{{consequences}}</p>
<h2>4. Ergriffene oder vorgeschlagene Maßnahmen <span class="muted">(Art. 33 Abs. 3 lit. d DSGVO)</span></h2>
<p>{{measures}}</p>
<p class="muted">Soweit Informationen noch nicht vorliegen, stellen wir sie ohne unangemessene weitere Verzögerung schrittweise zur Verfügung (Art. 33 Abs. 4 DSGVO).</p>
</body>
</html>
`
