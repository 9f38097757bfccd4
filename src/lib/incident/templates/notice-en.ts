import {NOTICE_STYLE} from './style.js'

/**
 * The built-in English notice. Kept as a TypeScript module so that `tsc` ships it in dist/; an
 * operator overrides it with `--template DIR` (notice.en.txt / notice.en.html, same placeholders).
 */
export const text = `Subject: Personal data breach notification - incident {{incident}}

To: {{customer}}

As required by our data processing agreement and Art. 33 GDPR, we inform you of a security
incident affecting personal data that we process on your behalf.

Incident:       {{incident}}
Detected:       {{detectedAt}} ({{detectedAtUtc}})
Notice issued:  {{issuedAt}} ({{issuedAtUtc}})

Summary
{{summary}}

1. Nature of the personal data breach (Art. 33(3)(a) GDPR)
{{nature}}

Categories of data subjects concerned: {{subjectCategories}}
Approximate number of data subjects concerned: {{subjects}}
Categories of personal data records concerned: {{dataCategories}}
Approximate number of personal data records concerned: {{records}}

2. Contact point for more information (Art. 33(3)(b) GDPR)
{{contact}}

3. Likely consequences of the personal data breach (Art. 33(3)(c) GDPR)
{{consequences}}

4. Measures taken or proposed to address the breach, including measures to mitigate its
   possible adverse effects (Art. 33(3)(d) GDPR)
{{measures}}

Where information is not yet available, we will provide it in phases without undue further
delay (Art. 33(4) GDPR).
`

export const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Personal data breach notification - incident {{incident}}</title>
${NOTICE_STYLE}
</head>
<body>
<h1>Personal data breach notification</h1>
<p>To: {{customer}}</p>
<p>As required by our data processing agreement and Art. 33 GDPR, we inform you of a security incident affecting personal data that we process on your behalf.</p>
<table>
<tr><td>Incident</td><td>{{incident}}</td></tr>
<tr><td>Detected</td><td>{{detectedAt}} <span class="muted">({{detectedAtUtc}})</span></td></tr>
<tr><td>Notice issued</td><td>{{issuedAt}} <span class="muted">({{issuedAtUtc}})</span></td></tr>
</table>
<h2>Summary</h2>
<p>{{summary}}</p>
<h2>1. Nature of the personal data breach <span class="muted">(Art. 33(3)(a) GDPR)</span></h2>
<p>{{nature}}</p>
<table>
<tr><td>Categories of data subjects concerned</td><td>{{subjectCategories}}</td></tr>
<tr><td>Approximate number of data subjects concerned</td><td>{{subjects}}</td></tr>
<tr><td>Categories of personal data records concerned</td><td>{{dataCategories}}</td></tr>
<tr><td>Approximate number of personal data records concerned</td><td>{{records}}</td></tr>
</table>
<h2>2. Contact point for more information <span class="muted">(Art. 33(3)(b) GDPR)</span></h2>
<p>{{contact}}</p>
<h2>3. Likely consequences of the personal data breach <span class="muted">(Art. 33(3)(c) GDPR)</span></h2>
<p>{{consequences}}</p>
<h2>4. Measures taken or proposed <span class="muted">(Art. 33(3)(d) GDPR)</span></h2>
<p>{{measures}}</p>
<p class="muted">Where information is not yet available, we will provide it in phases without undue further delay (Art. 33(4) GDPR).</p>
</body>
</html>
`
