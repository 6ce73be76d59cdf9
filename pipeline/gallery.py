"""The gallery a run leaves in its output folder: static HTML to review the colour copies from disk.

    OUTPUT/index.html              page 1: the run's counts and model, then photos PAGE_SIZE at a time
    OUTPUT/_gallery/page-N.html    the next pages
    OUTPUT/_gallery/failures.html  every failure with its reason
    OUTPUT/_gallery/t/XX/HASH-bw.jpg, HASH-colour.jpg   thumbnails (THUMB_SIDE px)

Thumbnails are made by the writer from the pixels it already holds (the photo's own L and its colour
copy): no second pass over the archive. The pages are rebuilt by the launcher at the end of every
run from the colour copies on disk, so a rerun keeps every photo done earlier. No server, no
network: each page opens from disk and links each photo to its full-resolution file (a thumbnail
that fails to load is outlined in red).
"""
import hashlib
import html
import io
import json
import os
import urllib.parse

import numpy as np
from PIL import Image

from pipeline.outputs import TMP_MARK, ledger_of
from basics import photos
from basics.paths import readable, wire
from basics.photos import is_image_name

PAGE_SIZE = 200
THUMB_SIDE = 200
FOLDER = "_gallery"
INDEX = "index.html"


def thumb_names(relpath):
    """Where a photo's two thumbnails go, relative to the output folder (short, safe names)."""
    h = hashlib.sha1(wire(relpath)).hexdigest()[:20]
    base = f"{FOLDER}/t/{h[:2]}/{h}"
    return f"{base}-bw.jpg", f"{base}-colour.jpg"


def thumbnail(pixels: np.ndarray) -> bytes:
    """uint8 or uint16 grey or RGB pixels -> JPEG bytes of at most THUMB_SIDE px on the long side."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:  # a 16-bit master: thinned before its 8-bit view is made, so no full copy
        step = max(1, max(pixels.shape[:2]) // (4 * THUMB_SIDE))
        pixels = photos.eight_bit(pixels[::step, ::step])
    im = Image.fromarray(pixels)
    im.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.BILINEAR)
    buf = io.BytesIO()
    im.convert("RGB" if im.mode != "L" else "L").save(buf, "JPEG", quality=80)
    return buf.getvalue()


def write_thumbnails(tree, relpath, grey, colour):
    bw, col = thumb_names(relpath)
    tree.write(bw, thumbnail(grey))
    tree.write(col, thumbnail(colour))


def _href(relpath, depth):
    """A link from a page `depth` folders below the output root to a file there, percent-encoded."""
    return "../" * depth + urllib.parse.quote(wire(relpath))


def _show(relpath):
    return html.escape(readable(relpath))


STYLE = """body{font-family:sans-serif;margin:1.5em;background:#fafafa;color:#222}
header p{margin:.2em 0}nav{margin:1em 0}nav a{margin-right:.6em}
.grid{display:flex;flex-wrap:wrap;gap:14px}figure{margin:0;background:#fff;padding:6px;border:1px solid #ddd}
figure img{height:150px;width:auto;margin-right:4px;background:#eee}figcaption{font-size:12px;max-width:420px;
overflow-wrap:anywhere}.broken{outline:3px solid #c00}
table{border-collapse:collapse}td{border-bottom:1px solid #ddd;padding:4px 8px;font-size:13px}"""


def _page(title, header, body):
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{header}{body}</body></html>")


def _header(report, pages, depth, current):
    n = report.get("counts", {})
    model = report.get("model", {})
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in n.items())
    links = " ".join(f"<a href='{_page_href(i, depth)}'>{i}</a>" if i != current else f"<b>{i}</b>"
                     for i in range(1, pages + 1))
    skipped = n.get("skipped_not_image", 0) + n.get("skipped_done", 0)
    failures = (f"<a href='{'../' * depth}{FOLDER}/failures.html'>failures ({n.get('failed', 0)}) and files skipped "
                f"({skipped})</a>")
    return (f"<header><h1>colorize run: {html.escape(str(report.get('input', '')))}</h1>"
            f"<p>{html.escape(counts)}</p><p>model: {html.escape(str(model.get('architecture', '')))} "
            f"{html.escape(str(model.get('image_size', '')))} px, {html.escape(str(model.get('dir', '')))}</p>"
            f"<nav>pages: {links} &middot; {failures}</nav></header>")


def _page_href(i, depth):
    if i == 1:
        return "../" * depth + INDEX
    return ("" if depth else f"{FOLDER}/") + f"page-{i}.html"


def photos_in(files):
    """Relative paths of the colour copies among an output folder's files (not reports, not the gallery)."""
    return sorted(p for p in files if is_image_name(p) and not p.startswith(FOLDER + "/") and TMP_MARK not in p)


def build(tree, report: dict, failures_path: str, skipped_path: str | None = None) -> int:
    """Writes index.html, the later pages and failures.html (the failures, then the files skipped) from what the
    output folder holds; returns the number of pages."""
    files = list(_walk(tree.root))
    have = set(files)
    photos = [p for p in photos_in(files) if ledger_of(p) in have]  # the tool's copies, never a user's own files
    pages = max(1, -(-len(photos) // PAGE_SIZE))
    for i in range(1, pages + 1):
        depth = 0 if i == 1 else 1
        figures = []
        for rel in photos[(i - 1) * PAGE_SIZE:i * PAGE_SIZE]:
            bw, col = thumb_names(rel)
            imgs = "".join(f"<img src='{_href(t, depth)}' alt='{kind}' onerror=\"this.className='broken'\">"
                           if t in have
                           else f"<span class='missing'>(no {kind} thumbnail: made by an earlier version)</span>"
                           for t, kind in ((bw, "black-and-white"), (col, "colour")))
            figures.append(f"<figure><a href='{_href(rel, depth)}'>{imgs}</a><figcaption>{_show(rel)}"
                           f"</figcaption></figure>")
        body = f"<main class='grid'>{''.join(figures)}</main>"
        name = INDEX if i == 1 else f"{FOLDER}/page-{i}.html"
        tree.write(name, _page(f"colorize run, page {i}", _header(report, pages, depth, i), body).encode())
    body = ""
    for title, path in (("failures", failures_path), ("files skipped", skipped_path)):
        rows = []
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                for raw in f:
                    entry = json.loads(raw)
                    rows.append(f"<tr><td>{html.escape(entry['path'])}</td><td>{html.escape(entry['reason'])}</td></tr>")
        body += f"<h2>{title}</h2><table>{''.join(rows) or '<tr><td>none</td></tr>'}</table>"
    tree.write(f"{FOLDER}/failures.html", _page("colorize run: failures", _header(report, pages, 1, 0), body).encode())
    return pages


def _walk(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
        rel = os.path.relpath(dirpath, root)
        for name in filenames:
            yield name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}"
