/** The style sheet of the built-in HTML notices (one look in every language). */
export const NOTICE_STYLE = `<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; color: #1b1b1b; }
h1 { font-size: 1.35rem; } h2 { font-size: 1.05rem; margin-top: 1.6rem; }
table { border-collapse: collapse; } td { padding: .15rem 1rem .15rem 0; vertical-align: top; }
.muted { color: #555; }
</style>`
