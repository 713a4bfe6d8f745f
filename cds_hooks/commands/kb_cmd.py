"""``sarcoma-cds kb render [--out FILE]``: the whole knowledge base as one clinician-readable
HTML page (no external assets): per histology the line-of-therapy sequence as an inline SVG,
then every rule with its criteria, dose, evidence, citations, version and review date.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections import defaultdict
from html import escape
from pathlib import Path

from cds_hooks.card_text import acronym, end_sentence
from cds_hooks.commands import kb_diff, kb_facts
from cds_hooks.commands.kb_genotype import genotype_tables_html
from cds_hooks.commands.kb_populations import population_tables_html
from cds_hooks.commands.kb_words import criterion_words
from rules import KnowledgeBase, KnowledgeBaseError, load_kb
from rules.knowledge import Rule, Source, slug
from rules.loader import BoundCriterion, CompiledRule
from rules.wording import count

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:72rem;
color:#1b1b1b;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem}h2{border-bottom:2px solid #345;padding-bottom:.2rem;margin-top:2.5rem}
.rule{border:1px solid #ccd;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}
.rule h3{margin:.2rem 0 .4rem;font-size:1.05rem}
.meta{color:#555;font-size:.85rem}.tag{display:inline-block;border-radius:3px;padding:0 .4rem;
font-size:.8rem;margin-right:.3rem;background:#eef}.critical{background:#f8d0d0}
.warning{background:#fbe7bf}.info{background:#d8ecf8}code{font-size:.85rem}
table{border-collapse:collapse}td,th{border:1px solid #ccd;padding:.2rem .5rem;text-align:left;
vertical-align:top;font-size:.9rem}svg text{font-family:inherit}
"""
BOX_W, BOX_GAP, LINE_H = 210, 40, 16


def review_text(rule: Rule) -> str:
    """The rule's review state in words: signed off, or "not yet clinically reviewed"."""
    content = f"content checked by {rule.review.role}, {rule.review.date.isoformat()}"
    if rule.signoff is None:
        return f"not yet clinically reviewed ({content}: {rule.review.checked})"
    return f"clinically reviewed by {rule.signoff.role}, {rule.signoff.date.isoformat()}; {content}"


def _criterion(c: BoundCriterion, kb: KnowledgeBase) -> str:
    return escape(criterion_words(c, kb))


def _source_html(source: Source) -> str:
    text = escape(source.title)
    if source.link:
        text = f'<a href="{escape(source.link)}">{text}</a>'
    bits = [text]
    if source.authors:
        bits.append(escape(source.authors))
    bits.append(f"{escape(source.publisher)}, {source.year}")
    if source.citation and source.citation not in (source.title, source.publisher):
        bits.append(escape(source.citation))
    if source.doi:
        bits.append(f"doi:{escape(source.doi)}")
    return " ".join(end_sentence(b) for b in bits)


Place = tuple[int, int]  # (line of therapy, 0 for the line itself, 1 for after progression on it)


def _place(rule: Rule) -> Place | None:
    if rule.then.kind != "recommendation" or rule.line is None:
        return None
    return (rule.line, 0 if rule.step is None else 1)


def _place_label(place: Place) -> str:
    line, step = place
    name = "first line" if line == 1 else f"line {line}"
    return f"After progression on {name}" if step else name[0].upper() + name[1:]


def sequence_svg(kb: KnowledgeBase, rules: list[CompiledRule]) -> str:
    """Boxes per line of therapy (left to right), listing each recommended option.

    A step taken on progression within a line (e.g. an imatinib dose escalation) gets its own
    dashed box between that line and the next, never a place inside the line's box.
    """
    by_place: dict[Place, list[CompiledRule]] = defaultdict(list)
    for compiled in rules:
        place = _place(compiled.rule)
        if place is not None:
            by_place[place].append(compiled)
    if not by_place:
        return ""
    places = sorted(by_place)
    labels = [textwrap.wrap(_place_label(place), 18) for place in places]
    top = 40 + (max(len(label) for label in labels) - 1) * LINE_H
    contents: list[list[str]] = []
    for place in places:
        rows: list[str] = []
        for compiled in by_place[place]:
            condition = compiled.rule.title.split(":", 1)[0]
            rows.append(f"[{condition}]")
            rows += [
                f"• {kb.valuesets.get(o.drug).display}"
                + ("" if o.preference == "preferred" else f" ({o.preference})")
                for o in compiled.rule.then.options
            ]
        # wrapped, never cut: every word of a box stays readable
        contents.append([part for row in rows for part in textwrap.wrap(row, 32)])
    height = max(len(rows) for rows in contents) * LINE_H + top
    width = len(places) * (BOX_W + BOX_GAP)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + 10}" '
        f'style="width:100%;max-width:{width}px;height:auto" '
        'role="img" aria-label="Line-of-therapy sequence">',
        '<defs><marker id="arrow" markerWidth="10" markerHeight="8" refX="9" refY="4" '
        'orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#345"/></marker></defs>',
    ]
    for index, (place, label, rows) in enumerate(zip(places, labels, contents, strict=True)):
        x = index * (BOX_W + BOX_GAP) + 2
        dashed = ' stroke-dasharray="6 4"' if place[1] else ""
        parts.append(
            f'<rect x="{x}" y="2" width="{BOX_W}" height="{height}" rx="6" '
            f'fill="#f4f7fb" stroke="#345"{dashed}/>'
        )
        parts += [
            f'<text x="{x + 8}" y="{20 + i * LINE_H}" font-weight="bold" font-size="13">'
            f"{escape(part)}</text>"
            for i, part in enumerate(label)
        ]
        for row_index, row in enumerate(rows):
            y = top + row_index * LINE_H
            parts.append(f'<text x="{x + 8}" y="{y}" font-size="12">{escape(row)}</text>')
        if index < len(places) - 1:
            y = height // 2
            parts.append(
                f'<line x1="{x + BOX_W}" y1="{y}" x2="{x + BOX_W + BOX_GAP - 4}" y2="{y}" '
                'stroke="#345" stroke-width="2" marker-end="url(#arrow)"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _rule_html(kb: KnowledgeBase, compiled: CompiledRule) -> str:
    rule = compiled.rule
    then = rule.then
    out = [
        f'<div class="rule" id="{escape(rule.id)}">',
        f"<h3>{escape(rule.title)}</h3>",
        f'<div class="meta"><span class="tag {then.indicator}">{then.indicator}</span>'
        f'<span class="tag">{escape(then.kind)}</span><code>{escape(rule.id)}@{rule.version}'
        f"</code> · status {rule.status} · issue items {', '.join(map(str, rule.items))}"
        f" · hooks {', '.join(rule.hooks)} · {escape(review_text(rule))}</div>",
        f"<p><strong>Card summary:</strong> {escape(then.summary)}</p>",
        "<p><strong>Fires when all of:</strong></p><ul>",
        *(f"<li>{_criterion(c, kb)}</li>" for c in compiled.when),
        "</ul>",
    ]
    if compiled.unless:
        out += [
            "<p><strong>Unless any of:</strong></p><ul>",
            *(f"<li>{_criterion(c, kb)}</li>" for c in compiled.unless),
            "</ul>",
        ]
    out.append(f"<p><strong>What:</strong> {escape(then.what)}</p>")
    if then.options:
        out.append("<table><tr><th>Option</th><th>Dose and schedule</th><th>Place</th></tr>")
        out += [
            f"<tr><td>{escape(kb.valuesets.get(o.drug).display)}</td><td>{escape(o.dose)}</td>"
            f"<td>{escape(o.preference)}</td></tr>"
            for o in then.options
        ]
        out.append("</table>")
    if then.actions:
        out.append("<p><strong>Suggestions:</strong></p><ul>")
        out += [f"<li>{escape(a.label)} <code>{escape(a.type)}</code></li>" for a in then.actions]
        out.append("</ul>")
    if then.monitoring:
        out.append("<p><strong>Monitor:</strong></p><ul>")
        out += [f"<li>{escape(m)}</li>" for m in then.monitoring]
        out.append("</ul>")
    if then.contraindicated_drugs:
        names = ", ".join(kb.valuesets.get(d).title for d in then.contraindicated_drugs)
        out.append(f"<p><strong>Marks as resisted/contraindicated:</strong> {escape(names)}</p>")
    note = f" {escape(rule.evidence.note)}" if rule.evidence.note else ""
    out.append(
        f"<p><strong>Evidence:</strong> {escape(kb.meta.level_label(rule.evidence.level))}."
        f"{note}</p><ol>"
    )
    out += [f"<li>{_source_html(kb.sources[key])}</li>" for key in rule.citations]
    out.append("</ol>")
    if rule.regulatory:
        out.append("<p><strong>Regulatory status:</strong></p><ul>")
        out += [
            f"<li>{escape(n.jurisdiction)}, {escape(acronym(kb.meta.regulator(n.jurisdiction)))}"
            f": {escape(n.status.replace('-', ' '))}. {escape(n.text)}</li>"
            for n in rule.regulatory
        ]
        out.append("</ul>")
    out.append("</div>")
    return "\n".join(out)


def render_html(kb: KnowledgeBase) -> str:
    meta = kb.meta
    by_histology: dict[str, list[CompiledRule]] = defaultdict(list)
    for compiled in kb.rules:
        by_histology[compiled.rule.histology].append(compiled)
    histologies = sorted(meta.histologies, key=lambda h: h.order)
    body = [
        f"<h1>{escape(meta.title)}: knowledge base {escape(kb.version)}</h1>",
        f"<p class=meta>{len(kb.rules)} rules · {len(kb.sources)} sources · jurisdiction "
        f"{escape(meta.jurisdiction)} ({escape(acronym(meta.regulator(meta.jurisdiction)))}); "
        f"unapproved drugs: {escape(meta.unapproved_drug_presentation)}; "
        f"{sum(c.rule.signoff is None for c in kb.rules)} rules not yet clinically reviewed "
        f"({'shown' if meta.unreviewed_rules == 'show' else 'hidden'} at this site).</p>",
        "<p><strong>Evidence scale</strong> (strongest first): "
        + " &gt; ".join(escape(level.label) for level in meta.evidence_levels)
        + "</p>",
        "<nav><ul>",
        *(
            f'<li><a href="#h-{slug(h.id)}">{escape(h.label)}</a> '
            f"({count(len(by_histology.get(h.id, [])), 'rule')})</li>"
            for h in histologies
        ),
        '<li><a href="#genotype">GIST genotype tables</a></li>',
        '<li><a href="#populations">Special-population tables</a></li>',
        '<li><a href="#sources">Sources</a></li></ul></nav>',
    ]
    for histology in histologies:
        rules = sorted(
            by_histology.get(histology.id, []),
            key=lambda c: (
                c.rule.line if c.rule.line is not None else 99,
                c.rule.step is not None,
                c.rule.id,
            ),
        )
        if not rules:
            continue
        body.append(f'<h2 id="h-{slug(histology.id)}">{escape(histology.label)}</h2>')
        svg = sequence_svg(kb, rules)
        if svg:
            body += ["<p><strong>Line-of-therapy sequence</strong></p>", svg]
        body += [_rule_html(kb, compiled) for compiled in rules]
    body.append(genotype_tables_html(kb))
    body.append(population_tables_html(kb))
    body.append('<h2 id="sources">Sources</h2><ul>')
    body += [
        f'<li id="src-{escape(s.key)}"><code>{escape(s.key)}</code> ({escape(s.kind)}): '
        f"{_source_html(s)}" + (f" <em>{escape(s.note)}</em>" if s.note else "") + "</li>"
        for s in sorted(kb.sources.values(), key=lambda s: s.key)
    ]
    body.append("</ul>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(meta.title)} knowledge base</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _render(args: argparse.Namespace) -> int:
    try:
        kb = load_kb(Path(args.kb) if args.kb else None)
    except KnowledgeBaseError as exc:
        print(f"kb: {exc}", file=sys.stderr)
        return 3
    html = render_html(kb)
    if args.out:
        Path(args.out).write_text(html, encoding="utf-8")
        print(f"kb: wrote {args.out} ({len(kb.rules)} rules, {kb.version})", file=sys.stderr)
    else:
        sys.stdout.write(html)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("kb", help="knowledge-base tools")
    kb_sub = parser.add_subparsers(dest="kb_command", required=True)
    render = kb_sub.add_parser("render", help="write the whole KB as clinician-readable HTML")
    render.add_argument("--out", metavar="FILE", help="output file (default: stdout)")
    render.add_argument("--kb", help="knowledge-base directory (default: the packaged KB)")
    render.set_defaults(func=_render)
    kb_diff.register(kb_sub)
    kb_facts.register(kb_sub)
