//! The page's inline stylesheet (screen and A4 print).

pub(super) const STYLE: &str = r#"
:root { --ink:#1b2733; --muted:#5b6775; --line:#d5dce4; --brand:#1f4e79; --bg:#ffffff;
  --soft:#f3f5f8; --pass:#1e7b34; --fail:#b3261e; --skip:#6b7280; }
* { box-sizing: border-box; }
html { background: #e9edf2; }
body { margin: 0; color: var(--ink); font: 15px/1.5 system-ui, -apple-system, "Segoe UI",
  Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1080px; margin: 24px auto; background: var(--bg); padding: 32px 40px 24px;
  border-radius: 6px; box-shadow: 0 1px 4px rgba(0,0,0,.08); }
header.top { border-bottom: 4px solid var(--brand); padding-bottom: 12px; margin-bottom: 18px; }
.kicker { margin: 0; color: var(--brand); font-weight: 600; text-transform: uppercase;
  letter-spacing: .06em; font-size: 13px; }
h1 { margin: 2px 0 10px; font-size: 28px; line-height: 1.2; word-break: break-word; }
h2 { font-size: 20px; color: var(--brand); margin: 28px 0 8px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
.sv { color: var(--muted); font-weight: 400; }
dl.meta { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr));
  gap: 2px 24px; margin: 8px 0 0; }
dl.meta div { display: flex; gap: 10px; }
dl.meta dt { color: var(--muted); min-width: 110px; }
dl.meta dd { margin: 0; word-break: break-all; }
code { font: 13px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono",
  monospace; }
code.digest { font-size: 12px; word-break: break-all; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr));
  gap: 12px; margin: 8px 0 4px; }
.card { background: var(--soft); border-left: 4px solid var(--brand); padding: 10px 12px;
  border-radius: 3px; }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 22px; font-weight: 650; }
.card .sub { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 14px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
thead th { background: var(--soft); font-weight: 600; border-bottom: 2px solid var(--line); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.dropped td { color: #8a939e; }
tr.dropped code { text-decoration: line-through; }
tr.total td { font-weight: 650; }
tr.sub td:first-child { padding-left: 32px; color: var(--muted); }
table.figures th { font-weight: 500; width: 34%; }
table.figures td.note { color: var(--muted); font-size: 13px; }
.sw { display: inline-block; width: 11px; height: 11px; margin-right: 7px; border-radius: 2px;
  vertical-align: -1px; }
.action { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12.5px;
  font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace; }
.a-drop { background: #eceff2; color: #6b7280; }
.a-keep { background: #e6f0fa; color: #1f4e79; }
.a-pseudo { background: #e9f5ec; color: #1e6b32; }
.a-coarse { background: #fdf3e1; color: #8a5a00; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
  font-weight: 700; letter-spacing: .03em; color: #fff; }
.badge.pass { background: var(--pass); }
.badge.fail { background: var(--fail); }
.badge.skip, .badge.other { background: var(--skip); }
.verdict { padding: 10px 14px; border-radius: 4px; font-weight: 650; margin: 10px 0; }
.verdict.pass { background: #e6f4ea; color: var(--pass); border: 1px solid #a8d5b5; }
.verdict.fail { background: #fce8e6; color: var(--fail); border: 1px solid #f0b4ae; }
.verdict.skip { background: var(--soft); color: var(--skip); border: 1px solid var(--line); }
.equation { margin: 6px 0; }
.note { color: var(--muted); font-size: 13.5px; margin: 4px 0 8px; }
.muted { color: var(--muted); fill: var(--muted); }
svg.chart { display: block; max-width: 100%; height: auto; margin: 8px 0; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  fill: var(--ink); }
svg text.tick { fill: var(--muted); font-size: 11px; }
svg text.value { font-size: 11px; font-weight: 600; }
svg text.axis { fill: var(--muted); }
ul.unknown { margin: 4px 0; }
table.lattice th { font-weight: 500; color: var(--muted); width: 90px; vertical-align: middle; }
table.lattice td { text-align: center; }
.node { display: inline-block; margin: 3px; padding: 4px 8px; border-radius: 4px;
  border: 1px solid var(--line); font-size: 12.5px; line-height: 1.3; }
.node.pass { background: #e6f4ea; border-color: #a8d5b5; }
.node.fail { background: var(--soft); color: var(--muted); }
.node.unknown { background: #fff; color: var(--muted); border-style: dashed; }
.node.chosen { background: var(--pass); color: #fff; border-color: var(--pass); font-weight: 650; }
.node.chosen code { color: #fff; }
footer { margin-top: 28px; padding-top: 10px; border-top: 1px solid var(--line);
  color: var(--muted); font-size: 12.5px; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  html { background: #fff; }
  body { font-size: 10pt; }
  main { max-width: none; margin: 0; padding: 0; box-shadow: none; border-radius: 0; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; }
  section, .card, svg.chart, tr { break-inside: avoid; }
  table.files, table.checks, table.cols { break-inside: auto; }
  thead { display: table-header-group; }
  .cards { grid-template-columns: repeat(5, 1fr); }
}
"#;
