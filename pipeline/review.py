"""The gallery's review pages: pin a colour on a photo, save the run's hints file, rerun with --hints.

    OUTPUT/_gallery/review-N.html   the photos of gallery page N, one at a time (#K: the K-th), full size:
                                    a click on the photo pins the colour picker's colour there; "save the
                                    hints file" downloads hints.jsonl (pipeline/hintsfile.py's format)
    colorize run --input IN --output OUT --hints hints.jsonl   redoes exactly the photos whose hints changed

Static HTML and a little JavaScript, opened from disk: no server. What a reviewer pins is kept in the browser's
local storage for this output folder until saved, so moving between photos and pages loses nothing; the hints
the copies were made with (their records in _done/) are where a review starts. Names from the archive reach the
page only as JSON data read by the script and shown as text (textContent), never as markup.
"""
import hashlib
import json
import shlex
from collections.abc import Callable

from basics.paths import wire
from pipeline.ledger import ledger_of
from pipeline.outputs import OutputTree

NAME = "review-{}.html"  # in the gallery's folder, one per gallery page

SCRIPT = r"""
const data = JSON.parse(document.getElementById('review-data').textContent);
const store = 'colorize-hints:' + data.key;
const hints = Object.assign({}, data.hints, JSON.parse(localStorage.getItem(store) || '{}'));
const img = document.getElementById('photo'), dots = document.getElementById('dots');
const picker = document.getElementById('colour'), list = document.getElementById('points');
const fileText = document.getElementById('hints-file');
let i = Math.min(data.photos.length - 1, Math.max(0, parseInt(location.hash.slice(1), 10) || 0));
function text() {
  return Object.keys(hints).filter(k => hints[k].length).sort()
    .map(k => JSON.stringify({path: k, points: hints[k]})).join('\n') + '\n';
}
function keep() { localStorage.setItem(store, JSON.stringify(hints)); fileText.textContent = text(); }
function draw() {
  const p = data.photos[i], pts = hints[p.path] || [];
  document.getElementById('name').textContent = p.path + '  (' + (i + 1) + ' of ' + data.photos.length + ')';
  dots.replaceChildren(); list.replaceChildren();
  pts.forEach((pt, j) => {
    const d = document.createElement('span');
    d.className = 'dot'; d.style.left = (pt[0] * 100) + '%'; d.style.top = (pt[1] * 100) + '%';
    d.style.background = pt[2]; dots.appendChild(d);
    const li = document.createElement('li'), sw = document.createElement('span'), rm = document.createElement('button');
    sw.className = 'swatch'; sw.style.background = pt[2];
    li.append(sw, ' ' + pt[2] + ' at ' + Math.round(pt[0] * 100) + ' %, ' + Math.round(pt[1] * 100) + ' % ');
    rm.textContent = 'remove'; rm.onclick = () => { pts.splice(j, 1); keep(); draw(); };
    li.appendChild(rm); list.appendChild(li);
  });
}
function show(k) { i = (k + data.photos.length) % data.photos.length; location.hash = '#' + i;
  img.src = data.photos[i].copy; draw(); }
img.addEventListener('click', e => {
  const r = img.getBoundingClientRect(), p = data.photos[i];
  const x = Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
  const y = Math.min(1, Math.max(0, (e.clientY - r.top) / r.height));
  (hints[p.path] = hints[p.path] || []).push([+x.toFixed(4), +y.toFixed(4), picker.value]);
  keep(); draw();
});
document.getElementById('prev').onclick = () => show(i - 1);
document.getElementById('next').onclick = () => show(i + 1);
document.getElementById('clear').onclick = () => { hints[data.photos[i].path] = []; keep(); draw(); };
document.getElementById('save').onclick = () => {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text()], {type: 'application/x-ndjson'}));
  a.download = 'hints.jsonl'; document.body.appendChild(a); a.click(); a.remove();
};
document.getElementById('command').textContent = data.command;
fileText.textContent = text();
show(i);
"""

STYLE = """body{font-family:sans-serif;margin:1.5em;background:#fafafa;color:#222}
#stage{position:relative;display:inline-block;line-height:0}#photo{max-width:92vw;max-height:75vh;cursor:crosshair}
.dot{position:absolute;width:12px;height:12px;margin:-8px 0 0 -8px;border:2px solid #fff;border-radius:50%;
box-shadow:0 0 0 1px #000;pointer-events:none}.swatch{display:inline-block;width:1em;height:1em;
border:1px solid #000;vertical-align:middle}pre{background:#fff;border:1px solid #ddd;padding:6px;
white-space:pre-wrap;overflow-wrap:anywhere}#name{overflow-wrap:anywhere}"""


def _json_for_script(value: object) -> str:
    """JSON that cannot close its <script> element nor open markup, whatever the names in it hold."""
    return (json.dumps(value, ensure_ascii=False).replace("&", "\\u0026").replace("<", "\\u003c")
            .replace(">", "\\u003e").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def hints_of_copies(tree: OutputTree, copies: list[str]) -> tuple[dict, dict]:
    """({copy relpath: its input's name as --hints takes it}, {that name: the points its copy was made with}),
    from the copies' records (a record that cannot be read leaves its copy out of review)."""
    origins, hints = {}, {}
    for rel in copies:
        try:
            done = json.loads(tree.read(ledger_of(rel)) or b"")
        except ValueError:
            continue
        if not isinstance(done, dict) or not isinstance(done.get("input"), str):
            continue
        origins[rel] = done["input"]
        if done.get("hints"):
            hints[done["input"]] = [[p[0], p[1], p[4]] for p in done["hints"] if len(p) == 5]
    return origins, hints


def page(tree: OutputTree, copies: list[str], origins: dict, hints: dict, href: Callable[[str], str],
         command: str) -> str:
    """The review page of one gallery page's copies; href(relpath) links a file of the output folder from it."""
    data = {"key": hashlib.sha1(wire(tree.root)).hexdigest()[:16], "hints": hints, "command": command,
            "photos": [{"path": origins[rel], "copy": href(rel)} for rel in copies if rel in origins]}
    return ("<!doctype html><html><head><meta charset='utf-8'><title>pin colours</title>"
            f"<style>{STYLE}</style></head><body>"
            "<h1>Pin the colours you know</h1>"
            "<p>Click a spot on the photo to pin the picker's colour there (only its hue and strength count: the "
            "photo keeps its own lightness). Pins are kept in this browser until you save them. Save the hints "
            "file, then run the same command again with it: only the photos whose pins changed are redone.</p>"
            "<p><button id='prev'>previous</button> <button id='next'>next</button> "
            "colour <input type='color' id='colour' value='#c0392b'> <button id='clear'>clear this photo</button> "
            "<button id='save'>save the hints file</button></p>"
            "<p id='name'></p><div id='stage'><img id='photo' alt='the colour copy'><div id='dots'></div></div>"
            "<ol id='points'></ol><p>Then run:</p><pre id='command'></pre>"
            "<p>The hints file (hints.jsonl):</p><pre id='hints-file'></pre>"
            f"<p><a href='../index.html'>back to the gallery</a></p>"
            f"<script type='application/json' id='review-data'>{_json_for_script(data)}</script>"
            f"<script>{SCRIPT}</script></body></html>")


def rerun_command(input_: str, output: str, model_dir: str | None) -> str:
    """The command a reviewer runs with the saved file (shown as text, never markup); model_dir: the run's model,
    None for the shipped one."""
    model = f" --model {shlex.quote(model_dir)}" if model_dir else ""
    return f"colorize run --input {shlex.quote(input_)} --output {shlex.quote(output)}{model} --hints hints.jsonl"

