"""HTML and SVG of the timeline page, from a :class:`~cds_hooks.timeline.model.Timeline`.
The evidence behind each recommendation is one click away (``<details>``; no JavaScript)."""

from __future__ import annotations

import datetime as dt
from html import escape

from cds_hooks.timeline.model import COLOURS, LINE_TONE, Event, Timeline, line_dose
from rules.patient import PartialDate
from rules.results import Recommendation

WIDTH = 980
LEFT = 150
RIGHT = 40
ROW = 44


def _day(value: PartialDate | None, *, upper: bool = False) -> dt.date | None:
    if value is None:
        return None
    return value.upper_bound() if upper else value.lower_bound()


def render_svg(timeline: Timeline) -> str:
    days: list[dt.date] = [timeline.as_of]
    for event in (*timeline.diagnosis, *timeline.biomarkers, *timeline.statuses):
        if event.date:
            days.append(event.date.lower_bound())
    for line in timeline.lines:
        days.extend(d for d in (_day(line.start), _day(line.end, upper=True)) if d)
    start = min(days) - dt.timedelta(days=45)
    end = max(days) + dt.timedelta(days=75)
    span = max((end - start).days, 1)
    plot = WIDTH - LEFT - RIGHT

    def x(day: dt.date) -> float:
        return round(LEFT + (day - start).days / span * plot, 1)

    rows = ["Diagnosis", "Biomarkers"] + [f"Line {line.number}" for line in timeline.lines]
    rows += ["Disease status", "Next step"]
    height = 50 + ROW * len(rows) + 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" '
        f'viewBox="0 0 {WIDTH} {height}" preserveAspectRatio="xMinYMin meet" '
        'aria-labelledby="tl-title" data-testid="timeline-svg">',
        f'<title id="tl-title">Therapy timeline of patient {escape(timeline.patient_id)}</title>',
        "<style>text{font:12px sans-serif;fill:#1b2631}.lab{font-weight:bold}"
        ".small{font-size:11px;fill:#424949}</style>",
    ]
    for year in range(start.year, end.year + 1):
        day = dt.date(year, 1, 1)
        if start <= day <= end:
            out.append(
                f'<line x1="{x(day)}" y1="30" x2="{x(day)}" y2="{height - 10}" '
                'stroke="#d5d8dc" stroke-dasharray="3,3"/>'
                f'<text x="{x(day) + 3}" y="24" class="small">{year}</text>'
            )
    today = x(timeline.as_of)
    out.append(
        f'<line x1="{today}" y1="30" x2="{today}" y2="{height - 10}" stroke="#1f618d"/>'
        + _today_label(today, timeline.as_of)
    )
    for index, title in enumerate(rows):
        y = 50 + ROW * index + ROW // 2
        out.append(f'<text x="8" y="{y + 4}" class="lab">{escape(title)}</text>')

    def marker_row(events: list[Event], row_index: int, empty: str) -> None:
        y = 50 + ROW * row_index + ROW // 2
        if not any(e.date for e in events):
            undated = f" ({len(events)} undated)" if events else ""
            out.append(f'<text x="{LEFT}" y="{y + 4}" class="small">{empty}{undated}</text>')
        for offset, event in enumerate(events):
            if event.date is None:
                continue
            cx = x(event.date.lower_bound())
            colour = COLOURS[event.tone]
            label = f"{event.label} {event.date.isoformat()}"
            dy = -8 if offset % 2 == 0 else 16
            out.append(
                f'<g data-testid="event"><circle cx="{cx}" cy="{y}" r="6" fill="{colour}">'
                f"<title>{escape(label)} ({escape(event.detail)})</title></circle>"
                f'<text x="{cx + 9}" y="{y + dy}" class="small">{escape(label)}</text></g>'
            )

    marker_row(timeline.diagnosis, 0, "No dated diagnosis on record")
    marker_row(timeline.biomarkers, 1, "No biomarker result on record")
    for index, line in enumerate(timeline.lines):
        y = 50 + ROW * (index + 2) + 8
        first = _day(line.start) or timeline.as_of
        last = _day(line.end, upper=True) or timeline.as_of
        tone = "current" if line.ended_by is None else LINE_TONE[line.ended_by]
        stop = line.end.isoformat() if line.end else "ongoing"
        why = line.ended_by.value if line.ended_by else "ongoing"
        dose = line_dose(line)
        agents = ", ".join(line.agents)
        named = dose and all(agent in dose for agent in line.agents)
        text = dose if named else (f"{agents}: {dose}" if dose else agents)
        dates = f"{line.start.isoformat() if line.start else '?'} to {stop}: {why}"
        out.append(
            f'<g data-testid="line-bar"><rect x="{x(first)}" y="{y}" '
            f'width="{max(x(last) - x(first), 4)}" height="14" rx="3" fill="{COLOURS[tone]}">'
            f"<title>{escape(text)}, {escape(dates)}</title></rect>"
            f'<text x="{x(first)}" y="{y - 2}" class="small">{escape(text)}</text>'
            f'<text x="{x(first)}" y="{y + 27}" class="small">{escape(dates)}</text></g>'
        )
    marker_row(timeline.statuses, len(rows) - 2, "No disease-status assessment on record")
    y = 50 + ROW * (len(rows) - 1) + ROW // 2
    if timeline.recommendations:
        first_rec = timeline.recommendations[0]
        # drawn at today (where the next step belongs in time), its words ending there
        out.append(
            f'<g data-testid="next-step"><path d="M{today - 8},{y - 7} L{today + 4},{y} '
            f'L{today - 8},{y + 7} z" fill="#1f618d"/>'
            f'<text x="{today - 12}" y="{y + 4}" text-anchor="end">'
            f"{escape(_shorten(first_rec.summary, 95))}</text></g>"
        )
    else:
        out.append(f'<text x="{LEFT}" y="{y + 4}">No recommendation from the knowledge base</text>')
    out.append("</svg>")
    return "".join(out)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _today_label(x: float, as_of: dt.date) -> str:
    """``today YYYY-MM-DD`` beside the today line, on whichever side has room."""
    text = f"today {as_of.isoformat()}"
    if x + 3 + 7 * len(text) > WIDTH:
        return f'<text x="{x - 3}" y="40" class="small" text-anchor="end">{text}</text>'
    return f'<text x="{x + 3}" y="40" class="small">{text}</text>'


LEGEND = (
    ("bad", "progression; line stopped for progression"),
    ("warn", "line stopped for toxicity"),
    ("good", "improved; biomarker detected"),
    ("neutral", "stable, completed or not detected"),
    ("current", "line ongoing; today"),
)


def _legend() -> str:
    items = "".join(
        f'<li><span class="swatch" style="background:{COLOURS[tone]}"></span>{escape(text)}</li>'
        for tone, text in LEGEND
    )
    return f'<ul class="legend" data-testid="legend">{items}</ul>'


def _recommendation_html(rec: Recommendation, *, open_: bool) -> str:
    findings = "".join(
        f"<li>{escape(f.text)}"
        + (f' <span class="ref">({escape(f.source_ref)})</span>' if f.source_ref else "")
        + "</li>"
        for f in rec.findings
    )
    citations = "".join(
        "<li>"
        + (
            f'<a href="{escape(source.link)}" rel="noopener noreferrer">{escape(source.title)}</a>'
            if source.link
            else escape(source.title)
        )
        + f" ({escape(source.publisher)}, {source.year})</li>"
        for source in rec.citations
    )
    options = "".join(
        f"<li>{escape(option.drug.display)}: {escape(option.dose)}</li>" for option in rec.options
    )
    note = f"<p>{escape(rec.evidence_note)}</p>" if rec.evidence_note else ""
    return (
        f'<details data-testid="recommendation" class="{escape(rec.indicator)}"'
        f"{' open' if open_ else ''}>"
        f"<summary>{escape(rec.summary)}</summary>"
        f"<p>{escape(rec.what)}</p>"
        + (f"<h4>Options</h4><ul>{options}</ul>" if options else "")
        + f"<h4>Why (patient facts)</h4><ul>{findings}</ul>"
        f"<h4>Evidence: {escape(rec.evidence_label)}</h4>{note}<ul>{citations}</ul>"
        f'<p class="small">Rule {escape(rec.rule_id)} v{escape(rec.rule_version)}, '
        f"{escape(rec.review_line)}</p></details>"
    )


def render_page(timeline: Timeline) -> str:
    rows = "".join(
        f'<tr data-testid="line-row"><td>{line.number}</td>'
        f"<td>{escape(', '.join(line.agents))}</td>"
        f"<td>{escape(line_dose(line) or 'not recorded')}</td>"
        f"<td>{escape(line.start.isoformat() if line.start else 'unknown')}</td>"
        f"<td>{escape(line.end.isoformat() if line.end else 'ongoing')}</td>"
        f"<td>{escape(line.ended_by.value if line.ended_by else 'ongoing')}</td></tr>"
        for line in timeline.lines
    )
    lines_table = (
        "<table><thead><tr><th>Line</th><th>Agent</th><th>Dose</th><th>Start</th><th>Stop</th>"
        f"<th>Why it stopped</th></tr></thead><tbody>{rows}</tbody></table>"
        if timeline.lines
        else "<p>No line of therapy on record.</p>"
    )
    periop_rows = "".join(
        f'<tr data-testid="perioperative-row"><td>{escape(e.intent.value if e.intent else "")}</td>'
        f"<td>{escape(e.agent.ingredient or '')}</td>"
        f"<td>{escape(e.start.isoformat() if e.start else 'unknown')}</td>"
        f"<td>{escape(e.end.isoformat() if e.end else 'ongoing')}</td></tr>"
        for e in timeline.perioperative
    )
    periop_table = (
        "<h2>Adjuvant and neoadjuvant therapy (not lines of therapy)</h2><table><thead><tr>"
        "<th>Intent</th><th>Agent</th><th>Start</th><th>Stop</th></tr></thead>"
        f"<tbody>{periop_rows}</tbody></table>"
        if timeline.perioperative
        else ""
    )
    severity = {"critical": 0, "warning": 1, "info": 2}
    ordered = sorted(timeline.recommendations, key=lambda r: severity[r.indicator])
    recommendations = "".join(_recommendation_html(r, open_=True) for r in ordered) or (
        "<p>No recommendation from the knowledge base for these facts.</p>"
    )
    who = ", ".join(p for p in (timeline.sex, timeline.age) if p)
    title = escape(timeline.name or f"Patient {timeline.patient_id}")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Therapy timeline: {title}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>body{font:14px sans-serif;margin:16px;color:#1b2631}"
        "table{border-collapse:collapse;margin:8px 0}"
        "td,th{border:1px solid #ccd1d1;padding:4px 8px}"
        "details{border:1px solid #ccd1d1;border-radius:4px;margin:6px 0;padding:6px}"
        "details.warning,details.critical{border-color:#b03a2e}summary{cursor:pointer;"
        "font-weight:bold}.ref,.small{color:#566573;font-size:12px}"
        "svg{display:block;width:100%;height:auto}.legend{list-style:none;padding:0;"
        "display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px}.swatch{display:inline-block;"
        "width:10px;height:10px;border-radius:5px;margin-right:4px}</style></head><body>"
        f'<h1 data-testid="patient">{title} <span class="small">'
        f"{escape(who + ', ') if who else ''}Patient/"
        f"{escape(timeline.patient_id)}, as of {timeline.as_of.isoformat()}</span></h1>"
        f'<p data-testid="setting"><b>Setting:</b> {escape(timeline.setting)}</p>'
        f"{render_svg(timeline)}{_legend()}"
        f"<h2>Lines of therapy (advanced disease)</h2>{lines_table}"
        f"{periop_table}"
        f"<h2>Recommended next step</h2>{recommendations}"
        '<p class="small">Decision support for sarcoma specialists, not an order. Nothing shown '
        "here is stored by the service.</p></body></html>"
    )
