"""The pages' templates (Jinja2), kept in Python so every install form
(editable, wheel) carries them without package-data rules. Server-rendered;
the only "script" is a meta refresh on a pending submission's page."""

from __future__ import annotations

import jinja2

from instrack_leaderboard.sanitize import is_http_link

BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{% block head %}{% endblock %}
<title>{% block title %}InsTrack leaderboard{% endblock %}</title>
<style>
 body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1150px;padding:0 1rem 3rem;color:#1d1d1f}
 header{display:flex;gap:1.5rem;align-items:baseline;border-bottom:1px solid #ddd;margin-bottom:1rem}
 header h1{font-size:1.3rem;margin:.8rem 0} header a{color:#1d1d1f}
 table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.6rem 0 1.2rem}
 th,td{padding:.3rem .5rem;border-bottom:1px solid #e5e5e5;text-align:left}
 th{background:#f5f5f7;white-space:nowrap} td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
 th a{color:inherit;text-decoration:none} th a.on{text-decoration:underline}
 .origin{font-size:.75rem;padding:.1rem .4rem;border-radius:.6rem;color:#fff}
 .reported{background:#4C72B0}.reproduced{background:#55A868}.submitted{background:#DD8452}
 .filters a{margin-right:.7rem} .filters a.on{font-weight:bold}
 .status{font-weight:bold}.done{color:#2a7a2a}.rejected,.failed{color:#b00020}.queued,.running{color:#a06000}
 .error{background:#fdecee;border:1px solid #f5c2c7;padding:.6rem .9rem;border-radius:.3rem}
 .note{color:#666;font-size:.85rem} form.inline{display:inline}
 label{display:block;margin:.6rem 0 .2rem} input[type=text],input[type=password],input[type=url]{width:24rem;max-width:100%}
 img.plot{max-width:100%;border:1px solid #eee;margin:.4rem 0}
 code{background:#f5f5f7;padding:0 .2rem}
</style></head><body>
<header><h1><a href="/">InsTrack leaderboard</a></h1>
<nav><a href="/">Board</a> · <a href="/submit">Submit</a> · <a href="/submissions">Submissions</a></nav></header>
{% block body %}{% endblock %}
</body></html>"""

BOARD = """{% extends "base" %}
{% block body %}
<p class="filters">Benchmark:
{% for b in benchmarks %}<a href="?benchmark={{ b }}&origin={{ origin }}" class="{{ 'on' if b == benchmark }}">{{ titles.get(b, b) }}</a>{% endfor %}</p>
<p class="filters">Origin:
{% for o in ['all', 'reported', 'reproduced', 'submitted'] %}<a href="?benchmark={{ benchmark }}&origin={{ o }}&sort={{ sort }}&order={{ order }}" class="{{ 'on' if o == origin }}" data-origin="{{ o }}">{{ o }}</a>{% endfor %}</p>
<table id="board">
<thead><tr><th>#</th>
{% for key, label in lead_columns %}<th><a href="{{ sort_link(key) }}" class="{{ 'on' if key == sort }}">{{ label }}</a></th>{% endfor %}
{% for key, label in metric_columns %}<th class="num"><a href="{{ sort_link(key) }}" class="{{ 'on' if key == sort }}">{{ label }}{{ ' ▼' if key == sort and order == 'desc' else (' ▲' if key == sort else '') }}</a></th>{% endfor %}
</tr></thead><tbody>
{% for e in entries %}<tr data-entry="{{ e.id }}">
<td>{{ loop.index }}</td>
<td><a href="/entry/{{ e.id }}">{{ e.display_name }}</a></td>
<td><span class="origin {{ e.origin }}">{{ e.origin }}</span></td>
<td>{{ e.year or '' }}</td><td>{{ e.setting or '' }}</td>
<td>{{ '' if e.origin == 'reported' else e.created_at.strftime('%Y-%m-%d') }}</td>
{% for key, label in metric_columns %}<td class="num">{{ marked(e, key) | safe }}</td>{% endfor %}
</tr>{% else %}<tr><td colspan="20" id="empty-board">No entries on {{ titles.get(benchmark, benchmark) }} yet.
{% if benchmark == settings.benchmark %}This server scores uploads against {{ titles.get(settings.benchmark, settings.benchmark) }}:
<a href="/submit">submit predictions</a> (a <code>.zip</code> of PNG masks or an RLE <code>.json</code>, form field <code>file</code>),
or from a shell: <code>curl -H "Authorization: Bearer TOKEN" -F method=NAME -F file=@pred.zip http://HOST:PORT/api/submissions</code>.{% endif %}
{% if benchmark != 'instrack' and 'instrack' in benchmarks %}The TrackGPT paper's InsTrack numbers are on the <a href="?benchmark=instrack&origin=all">InsTrack board</a>.{% endif %}</td></tr>{% endfor %}
</tbody></table>
<p class="note">Percent. Best in bold, second underlined (per column, among the rows shown). Decay: lower is better.
Reported: numbers typed in from the TrackGPT paper; reproduced: scored here from released predictions; submitted: uploaded here.</p>
<img class="plot" src="/plot/methods.png?benchmark={{ benchmark }}" alt="J&F per method" width="700">
{% endblock %}"""

ENTRY = """{% extends "base" %}
{% block title %}{{ e.display_name }} · InsTrack leaderboard{% endblock %}
{% block body %}
<h2>{{ e.display_name }} <span class="origin {{ e.origin }}">{{ e.origin }}</span></h2>
{% if e.hidden %}<p class="error">This entry is hidden from the board.</p>{% endif %}
<table><tbody>
<tr><th>Benchmark</th><td>{{ titles.get(e.benchmark, e.benchmark) }} ({{ e.split }})</td></tr>
<tr><th>Protocol</th><td>{{ e.protocol }}</td></tr>
{% if e.paper %}<tr><th>Paper</th><td>{{ e.paper }}</td></tr>{% endif %}
{% if e.link %}<tr><th>Link</th><td>{% if e.link is http_link %}<a href="{{ e.link }}" rel="nofollow noopener noreferrer">{{ e.link }}</a>{% else %}{{ e.link }}{% endif %}</td></tr>{% endif %}
{% if e.source %}<tr><th>Source</th><td>{{ e.source }}</td></tr>{% endif %}
<tr><th>Dataset revision</th><td><code>{{ e.dataset_revision or '-' }}</code></td></tr>
<tr><th>Evaluator version</th><td>{{ e.evaluator_version or '-' }}</td></tr>
<tr><th>Submission SHA-256</th><td><code>{{ e.submission_sha256 or '-' }}</code></td></tr>
<tr><th>Added</th><td>{{ e.created_at.strftime('%Y-%m-%d %H:%M UTC') }}</td></tr>
</tbody></table>
<h3>Metrics</h3>
<table><thead><tr>{% for name in metric_names %}<th class="num">{{ name }}</th>{% endfor %}</tr></thead>
<tbody><tr>{% for name in metric_names %}<td class="num">{{ pct(e[cols[name]]) }}</td>{% endfor %}</tr></tbody></table>
{% for title, rows, columns in breakdowns %}
<h3>{{ title }}</h3>
<table><thead><tr><th></th>{% for c in columns %}<th class="num">{{ c }}</th>{% endfor %}</tr></thead><tbody>
{% for label, values in rows %}<tr><td>{{ label }}</td>{% for c in columns %}<td class="num">{{ fmt(values.get(c)) }}</td>{% endfor %}</tr>{% endfor %}
</tbody></table>
{% endfor %}
{% if units %}
<h3>Plots</h3>
<img class="plot" src="/entry/{{ e.id }}/plot/per-video.png" alt="per-video J&F" width="520">
<img class="plot" src="/entry/{{ e.id }}/plot/robustness.png" alt="robustness across instructions" width="620">
<h3>Per unit ({{ units|length }})</h3>
<table><thead><tr><th>Video</th><th>Unit</th><th>Kind</th><th class="num">Frames</th>
{% for m in unit_metrics %}<th class="num">{{ m }}</th>{% endfor %}</tr></thead><tbody>
{% for u in units %}<tr><td>{{ u.video }}</td><td>{{ u.exp_id or u.object }}</td><td>{{ u.kind }}</td><td class="num">{{ u.n_frames or '' }}</td>
{% for m in unit_metrics %}<td class="num">{{ pct(u[cols[m]]) }}</td>{% endfor %}</tr>{% endfor %}
</tbody></table>
{% else %}<p class="note">No per-unit results: this entry was typed in from a paper.</p>{% endif %}
<h3>Admin</h3>
<form method="post" action="/admin/entries/{{ e.id }}/hidden">
<input type="password" name="token" placeholder="admin token" required>
<input type="hidden" name="hidden" value="{{ '0' if e.hidden else '1' }}">
<button type="submit">{{ 'Show again' if e.hidden else 'Hide from the board' }}</button></form>
{% endblock %}"""

SUBMIT = """{% extends "base" %}
{% block title %}Submit · InsTrack leaderboard{% endblock %}
{% block body %}
<h2>Submit predictions</h2>
{% if errors %}<div class="error" id="errors"><strong>{{ headline }}</strong><ul>
{% for p in errors %}<li>{{ p }}</li>{% endfor %}</ul></div>{% endif %}
<p>Scored against <strong>{{ titles.get(settings.benchmark, settings.benchmark) }}</strong>, split <code>{{ settings.split }}</code>,
protocol <code>{{ settings.protocol }}</code>. Upload a <code>.zip</code> of <code>VIDEO/EXP_ID/FRAME.png</code>
or a COCO RLE <code>.json</code> (SPEC §2), at most {{ max_mb }} MB. The file is checked at once; scoring runs in the background.</p>
<form method="post" action="/submit" enctype="multipart/form-data" id="submit-form">
<label for="token">Submitter token</label><input type="password" id="token" name="token" required value="">
<label for="method">Method</label><input type="text" id="method" name="method" required maxlength="200" value="{{ form.method }}">
<label for="variant">Variant (optional)</label><input type="text" id="variant" name="variant" maxlength="200" value="{{ form.variant }}">
<label for="paper">Paper (optional)</label><input type="text" id="paper" name="paper" maxlength="500" value="{{ form.paper }}">
<label for="link">Link (optional)</label><input type="url" id="link" name="link" maxlength="500" value="{{ form.link }}">
<label for="file">Predictions (.zip or .json)</label><input type="file" id="file" name="file" accept=".zip,.json" required>
<p><button type="submit" id="submit-button">Upload</button></p>
</form>
{% endblock %}"""

SUBMISSION = """{% extends "base" %}
{% block head %}{% if sub.status in ('queued', 'running') %}<meta http-equiv="refresh" content="2">{% endif %}{% endblock %}
{% block title %}Submission {{ sub.id }} · InsTrack leaderboard{% endblock %}
{% block body %}
<h2>Submission {{ sub.id }}: {{ sub.method }}{% if sub.variant %} ({{ sub.variant }}){% endif %}</h2>
<p>Status: <span class="status {{ sub.status }}" id="status">{{ sub.status }}</span>
{% if sub.status in ('queued', 'running') %}<span class="note">(this page refreshes itself)</span>{% endif %}</p>
{% if sub.message %}<p>{{ sub.message }}</p>{% endif %}
{% if sub.problems %}<div class="error"><ul>{% for p in sub.problems %}<li><code>{{ p.where }}</code>: {{ p.reason }}</li>{% endfor %}</ul></div>{% endif %}
{% if sub.entry_id %}<p>Result: <a href="/entry/{{ sub.entry_id }}" id="entry-link">entry {{ sub.entry_id }}</a> · <a href="/?benchmark={{ sub.benchmark }}&origin=all">the board</a></p>{% endif %}
<table><tbody>
<tr><th>File</th><td>{{ sub.filename }} ({{ sub.size_bytes }} bytes)</td></tr>
<tr><th>SHA-256</th><td><code>{{ sub.sha256 }}</code></td></tr>
<tr><th>Benchmark</th><td>{{ sub.benchmark }} / {{ sub.split }} / {{ sub.protocol }}</td></tr>
<tr><th>Uploaded</th><td>{{ sub.created_at.strftime('%Y-%m-%d %H:%M:%S UTC') }}</td></tr>
<tr><th>Attempts</th><td>{{ sub.attempts }}</td></tr>
</tbody></table>
{% endblock %}"""

SUBMISSIONS = """{% extends "base" %}
{% block title %}Submissions · InsTrack leaderboard{% endblock %}
{% block body %}
<h2>Recent submissions</h2>
<table><thead><tr><th>#</th><th>Method</th><th>File</th><th>Status</th><th>Uploaded</th></tr></thead><tbody>
{% for s in subs %}<tr><td><a href="/submission/{{ s.id }}">{{ s.id }}</a></td><td>{{ s.method }}{% if s.variant %} ({{ s.variant }}){% endif %}</td>
<td>{{ s.filename }}</td><td class="status {{ s.status }}">{{ s.status }}</td><td>{{ s.created_at.strftime('%Y-%m-%d %H:%M') }}</td></tr>
{% else %}<tr><td colspan="5">None yet.</td></tr>{% endfor %}
</tbody></table>
{% endblock %}"""

ERROR = """{% extends "base" %}
{% block title %}{{ status_code }} · InsTrack leaderboard{% endblock %}
{% block body %}
<h2>{{ status_code }} {{ title }}</h2>
<div class="error" id="errors"><ul>{% for m in messages %}<li>{{ m }}</li>{% endfor %}</ul></div>
{% endblock %}"""


def environment() -> jinja2.Environment:
    loader = jinja2.DictLoader({"base": BASE, "board": BOARD, "entry": ENTRY, "submit": SUBMIT,
                                "submission": SUBMISSION, "submissions": SUBMISSIONS, "error": ERROR})
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
    # a stored link becomes an href only if http(s): never javascript: or data:
    env.tests["http_link"] = is_http_link
    return env
