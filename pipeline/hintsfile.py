"""`colorize run --hints FILE`: the colours a reviewer knows, read and checked before any work starts.

    FILE (JSON Lines, one photo a line):
        {"path": "1950s/family.jpg", "points": [[0.42, 0.31, "#1f3a93"], ...]}
    --read--> {origin: ((x, y, a, b, "#rrggbb"), ...)}  --> each photo's Input element (they travel with their photos: no
                                                 side file a Dataflow worker would have to read)

path: relative to --input, as _failures.jsonl names a photo (an archive's member: "ARCHIVE!MEMBER"); x, y: the
point as fractions of the photo's width and height, from its top left corner; the colour: "#rrggbb" or "#rgb"
sRGB, of which only the hue and chroma count (its a and b in Lab): the photo keeps its own lightness. A later
line for the same photo replaces an earlier one; a photo with an empty list of points has no hints.
"""
import json
import re

import numpy as np

from basics.errors import UserError
from basics.lab import rgb_to_lab
from basics.paths import readable

MAX_POINTS = 100  # a photo's hints; more is a mistake (a file of pixels), not a reviewer's clicks
MAX_LINE = 1 << 16
_HEX = re.compile(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


class HintsError(UserError):
    """A hints file that cannot be used; str() names the file and line."""


def colour_ab(text: str) -> tuple[float, float]:
    """"#rrggbb" or "#rgb" -> its (a, b) in Lab."""
    digits = hex_of(text)[1:]
    rgb = np.array([[[int(digits[i:i + 2], 16) for i in (0, 2, 4)]]], np.uint8)
    a, b = rgb_to_lab(rgb)[0, 0, 1:]
    return round(float(a), 3), round(float(b), 3)


def hex_of(text: str) -> str:
    """A colour as the hints file and the gallery write it: "#rrggbb", lower case; ValueError if it is not one."""
    m = _HEX.fullmatch(text.strip()) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"colour {text!r} is not #rrggbb or #rgb")
    digits = m.group(1).lower()
    return "#" + ("".join(d * 2 for d in digits) if len(digits) == 3 else digits)


def _points(raw: object) -> tuple:
    if not isinstance(raw, list):
        raise ValueError('"points" is not a list of [x, y, "#rrggbb"]')
    if len(raw) > MAX_POINTS:
        raise ValueError(f"{len(raw)} points; at most {MAX_POINTS} a photo")
    out = []
    for j, p in enumerate(raw, 1):
        if not (isinstance(p, list) and len(p) == 3):
            raise ValueError(f'point {j} is not [x, y, "#rrggbb"]')
        x, y, colour = p
        for name, v in (("x", x), ("y", y)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
                raise ValueError(f"point {j}'s {name} {v!r} is outside the photo (a fraction of its "
                                 f"{'width' if name == 'x' else 'height'}, from 0 to 1)")
        try:
            a, b = colour_ab(colour)
        except ValueError as e:
            raise ValueError(f"point {j}'s {e}") from None
        out.append((float(x), float(y), a, b, hex_of(colour)))
    return tuple(out)


def read(path: str, known: set[str], archives: set[str] = frozenset()) -> dict[str, tuple]:
    """The hints file at `path` -> {origin: points}. known: the origins of the listed photos; archives: those of
    the listed archives, whose members ("ARCHIVE!MEMBER") are accepted by their archive's name (their listing comes
    when the archive is read). Raises HintsError naming the line of the first problem."""
    try:
        with open(path, "rb") as f:
            data = f.read(64 << 20)
    except OSError as e:
        raise HintsError(f"cannot read the hints file {readable(path)}: {e.strerror or e}") from None
    hints: dict[str, tuple] = {}
    for n, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{readable(path)} line {n}"
        try:
            if len(line) > MAX_LINE:
                raise ValueError(f"the line is longer than {MAX_LINE} bytes")
            entry = json.loads(line)
            if not isinstance(entry, dict) or set(entry) - {"path", "points"} or "path" not in entry:
                raise ValueError('not {"path": ..., "points": [...]}')
            origin = entry["path"]
            if not isinstance(origin, str):
                raise ValueError('"path" is not text')
            inside = origin.split("!", 1)[0] in archives if "!" in origin else False
            if origin not in known and not inside:
                raise ValueError(f"{origin!r} is not a photo of --input (paths are relative to --input, as "
                                 "_failures.jsonl names them)")
            hints[origin] = _points(entry.get("points", []))
        except (ValueError, UnicodeDecodeError) as e:  # json.JSONDecodeError is a ValueError
            raise HintsError(f"{where}: {e}") from None
    return {k: v for k, v in hints.items() if v}
