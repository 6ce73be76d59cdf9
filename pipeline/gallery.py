"""The gallery a run leaves in its output folder: static HTML to review the colour copies from disk.

    OUTPUT/index.html              page 1: the run's counts and model, then photos PAGE_SIZE at a time
    OUTPUT/_gallery/page-N.html    the next pages
    OUTPUT/_gallery/failures.html  every failure with its reason
    OUTPUT/_gallery/review-N.html  page N's photos one at a time, to pin colours on (pipeline/review.py), where the
                                   model takes colour hints
    OUTPUT/_gallery/t/XX/HASH-bw.jpg, HASH-colour.jpg   thumbnails (THUMB_SIDE px)
    OUTPUT/_summary.json           the whole folder over every run: its copies, each run's record and counts

Thumbnails are made by the writer from the pixels it already holds (the photo's own L and its colour
copy): no second pass over the archive. The pages are rebuilt by the launcher at the end of every
run from the colour copies on disk, so a rerun keeps every photo done earlier. No server, no
network: each page opens from disk and links each photo to its full-resolution file (a thumbnail
that fails to load is outlined in red).
"""
import dataclasses
import hashlib
import html
import io
import json
import os
import urllib.parse
from collections.abc import Iterable

import numpy as np
from PIL import Image

from model import modeldir
from pipeline.launcher import RUNS
from pipeline.ledger import ledger_of
from pipeline import review
from pipeline.outputs import TMP_MARK, OutputTree
from pipeline.report import RunReport
from basics import photos
from basics.errors import reason_of
from basics.paths import readable, wire
from basics.photos import is_image_name

PAGE_SIZE = 200
THUMB_SIDE = 200
FOLDER = "_gallery"
INDEX = "index.html"
SUMMARY = "_summary.json"  # the whole folder, over every run (folder_summary)


def thumb_names(relpath: str) -> tuple[str, str]:
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


def write_thumbnails(tree: OutputTree, relpath: str, grey: np.ndarray, colour: np.ndarray) -> None:
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
.grid{display:flex;flex-wrap:wrap;gap:14px}figure{margin:0;background:#fff;padding:6px;border:1px solid #ddd;
width:312px}figure a{display:flex;gap:6px;text-decoration:none;color:#555}.shot{display:flex;flex-direction:column;
font-size:11px;text-align:center}
.shot img{width:150px;height:150px;object-fit:contain;background:#eee}figcaption{font-size:12px;
overflow-wrap:anywhere;margin-top:4px}.broken{outline:3px solid #c00}
table{border-collapse:collapse}td{border-bottom:1px solid #ddd;padding:4px 8px;font-size:13px}"""
# Every thumbnail sits in the same 150 px square (object-fit: contain), so a photo of any shape, a 5000 x 1 strip
# or a tall panorama, takes one tile's room and is seen whole.

# What each count is called on the pages: words for people, not the report's keys.
COUNT_WORDS = {"matched": "files found", "colorized": "colorized", "skipped_done": "already done by an earlier run",
               "skipped_not_image": "skipped as not photos", "failed": "could not be colorized",
               "folders_skipped": "folders not entered (links, hidden folders, colorize's own output)"}


def _page(title, header, body):
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{header}{body}</body></html>")


def _header(report, summary, pages, depth, current):
    n = dataclasses.asdict(report.counts)
    model = report.model
    found = n.get("matched", 0)
    # "6 files found: 5 colorized, 1 skipped as not photos." (a zero is left out, but for the colorized)
    rest = ", ".join(f"{v} {COUNT_WORDS.get(k, k.replace('_', ' '))}" for k, v in n.items()
                     if k != "matched" and (v or k == "colorized"))
    links = " ".join(f"<a href='{_page_href(i, depth)}'>{i}</a>" if i != current else f"<b>{i}</b>"
                     for i in range(1, pages + 1))
    failed = n.get("failed", 0)
    # Photos already done are not a problem to explain: the link names each kind of skip by its own count
    skipped = ", ".join(f"{v} {what}" for v, what in ((n.get("skipped_not_image", 0), "not photos"),
                                                      (n.get("skipped_done", 0), "already done"),
                                                      (n.get("folders_skipped", 0), "folders not entered")) if v)
    why = " and ".join(part for part, k in ((f"why {failed} could not be colorized", failed),
                                            (f"what was skipped ({skipped})", skipped)) if k)
    failures = f"<a href='{'../' * depth}{FOLDER}/failures.html'>{why or 'nothing failed, nothing was skipped'}</a>"
    tinted = report.had_colour
    tinted = (f"<p>{tinted} of the photos were already in colour or tinted (a sepia print, say): their colours were "
              "made anew from their lightness.</p>" if tinted else "")
    shipped = model.get("dir") == modeldir.DEFAULT_MODEL_DIR
    which = "the model that ships with colorize" if shipped else f"the model in {model.get('dir', '')}"
    size = model.get("image_size", "")
    return (f"<header><h1>Colour copies of {html.escape(report.input)}</h1>"
            f"<p>{found} {COUNT_WORDS['matched']}: {html.escape(rest)}.</p>{tinted}"
            f"<p>Coloured by {html.escape(str(which))} (its network, “{html.escape(str(model.get('architecture', '')))}”, "
            f"judges the colours from a {html.escape(str(size))} × {html.escape(str(size))} px view of each photo; "
            "every copy keeps the photo's own size and detail).</p>"
            "<p>Each tile: the black-and-white original, left, and its colour copy, right; click a tile for the "
            "full-size colour copy.</p>"
            f"<p>This folder holds {summary['copies']} colour copies, made over {len(summary['runs'])} "
            f"run{'s' if len(summary['runs']) != 1 else ''} (each run's record: {RUNS}/; all of them summed up: "
            f"<a href='{'../' * depth}{SUMMARY}'>{SUMMARY}</a>).</p>"
            f"<nav>pages: {links} &middot; {failures}</nav></header>")


def _page_href(i, depth):
    if i == 1:
        return "../" * depth + INDEX
    return ("" if depth else f"{FOLDER}/") + f"page-{i}.html"


def photos_in(files: Iterable[str]) -> list[str]:
    """Relative paths of the colour copies among an output folder's files (not reports, not the gallery)."""
    return sorted(p for p in files if is_image_name(p) and not p.startswith(FOLDER + "/") and TMP_MARK not in p)


def folder_summary(tree: OutputTree, files: list[str], copies: int, run_report: str, failures_path: str) -> dict:
    """What the whole output folder holds, over every run that wrote into it: its colour copies (each with its
    record in _done/) and each run's record in _runs/ (oldest first: where it read, with which model, its
    counts). Written as _summary.json."""
    runs = []
    for rel in sorted(f for f in files if f.startswith(RUNS + "/") and f.count("/") == 2
                      and f.endswith("/" + run_report)):
        record = rel.rsplit("/", 1)[0]
        try:
            kept = json.loads(tree.read(rel) or b"")
        except ValueError as e:  # a record a crash or a person cut short: named, not dropped
            runs.append({"record": record, "unreadable": reason_of(e)})
            continue
        runs.append({"record": record, "input": kept.get("input"), "model": kept.get("model", {}).get("dir"),
                     "counts": kept.get("counts"), "seconds": kept.get("seconds")})
    latest = runs[-1].get("counts") or {} if runs else {}
    return {"output": tree.root, "copies": copies, "runs": runs, "failed_in_latest_run": latest.get("failed", 0),
            "latest_failures": failures_path}


def build(tree: OutputTree, report: RunReport, run_report: str, failures_path: str, skipped_path: str | None = None) -> dict:
    """Writes index.html, the later pages and failures.html (the failures, then the files skipped) from what the
    output folder holds, and _summary.json (folder_summary; run_report: the name of each run's report in _runs/);
    returns that summary."""
    files = list(_walk(tree.root))
    have = set(files)
    photos = [p for p in photos_in(files) if ledger_of(p) in have]  # the tool's copies, never a user's own files
    summary = folder_summary(tree, files, len(photos), run_report, failures_path)
    tree.write(SUMMARY, (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode())
    pages = max(1, -(-len(photos) // PAGE_SIZE))
    hinted = bool(report.model.get("hints"))  # the model takes colour hints: each photo can be reviewed
    origins, hints = review.hints_of_copies(tree, photos) if hinted else ({}, {})
    shipped = report.model.get("dir") == modeldir.DEFAULT_MODEL_DIR
    command = review.rerun_command(report.input, tree.root, None if shipped else report.model.get("dir"))
    for i in range(1, pages + 1):
        depth = 0 if i == 1 else 1
        figures = []
        on_page = photos[(i - 1) * PAGE_SIZE:i * PAGE_SIZE]
        reviewed = [rel for rel in on_page if rel in origins]
        place = {rel: k for k, rel in enumerate(reviewed)}
        if reviewed:
            tree.write(f"{FOLDER}/{review.NAME.format(i)}",
                       review.page(tree, reviewed, origins, hints, lambda r: _href(r, 1), command).encode())
        for rel in on_page:
            bw, col = thumb_names(rel)
            imgs = "".join(f"<span class='shot'><img src='{_href(t, depth)}' alt='{kind}' "
                           f"onerror=\"this.className='broken'\">{kind}</span>"
                           if t in have
                           else f"<span class='shot missing'>(no {kind} thumbnail: made by an earlier version)</span>"
                           for t, kind in ((bw, "black-and-white"), (col, "colour")))
            pin = (f" <a class='pin' href='{'' if depth else FOLDER + '/'}{review.NAME.format(i)}"
                   f"#{place[rel]}'>pin colours</a>" if rel in place else "")
            figures.append(f"<figure><a href='{_href(rel, depth)}'>{imgs}</a><figcaption>{_show(rel)}{pin}"
                           f"</figcaption></figure>")
        body = f"<main class='grid'>{''.join(figures)}</main>"
        name = INDEX if i == 1 else f"{FOLDER}/page-{i}.html"
        tree.write(name, _page(f"colour copies, page {i}", _header(report, summary, pages, depth, i), body).encode())
    body = ""
    for title, path in (("could not be colorized, and why", failures_path), ("skipped, and why", skipped_path)):
        rows = []
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                for raw in f:
                    entry = json.loads(raw)
                    rows.append(f"<tr><td>{html.escape(entry['path'])}</td><td>{html.escape(entry['reason'])}</td></tr>")
        body += f"<h2>{title}</h2><table>{''.join(rows) or '<tr><td>none</td></tr>'}</table>"
    title = "colour copies: what could not be colorized"
    tree.write(f"{FOLDER}/failures.html", _page(title, _header(report, summary, pages, 1, 0), body).encode())
    return summary


def _walk(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
        rel = os.path.relpath(dirpath, root)
        for name in filenames:
            yield name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}"
