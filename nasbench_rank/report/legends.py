"""Short names for the lines of a figure: what a reader needs to tell them apart, and no more.

A line is named by the fields that differ between lines: what the method is (predictor, search, ...)
always, any other field only where it tells apart lines that the fields named before it do not (a
pool's description, a target's checksum or a search space follow from the panel or from another
field). Plugin settings are written `key=value`, checksums cut to 8 hex
digits, and a name longer than `LIMIT` characters is cut and numbered, its full text given as a
footnote under the figure.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from .tables import blank
from .units import CHECKSUM

#: The longest legend text.
LIMIT = 40
#: Fields that say what a method is: named wherever they differ between lines.
METHOD_FIELDS = ("predictor", "loss", "search", "mode", "isolation")
#: Fields that describe another field (never a line's identity unless nothing else tells lines apart).
DESCRIPTIVE = ("pool_about",)
#: Fields whose values are checksums (cut to a few hex digits when shown).
CHECKSUM_KEYS = ("table", "table_sha256", "target_sha256")
_KWARGS_PREFIX = re.compile(r"\w+_kwargs=$")


def compact(text: Any) -> str:
    """`text` with plugin settings written as `key=value` pairs (the grid's JSON
    `{"predictor_kwargs":{...}}` and a CSV's `predictor_kwargs={...}`, wherever they appear) and
    checksums cut to 8 hex digits; anything else unchanged."""
    text = str(text)
    out, i = [], 0
    while i < len(text):
        start = text.find("{", i)
        if start < 0:
            break
        end = _closing(text, start)
        if end < 0:
            break
        prefix = _KWARGS_PREFIX.search(text[i:start])
        cut = i + prefix.start() if prefix else start
        pairs = _pairs(text[start:end + 1], wrapped=cut != start)
        if pairs is None:
            out.append(text[i:end + 1])
        else:
            out.append(text[i:cut] + pairs)
        i = end + 1
    out.append(text[i:])
    return CHECKSUM.sub(lambda m: m.group(0)[:8], "".join(out))


def _closing(text: str, start: int) -> int:
    """Index of the brace closing the one at `start` (-1 when it is not closed)."""
    depth = 0
    for j in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return j
    return -1


def _pairs(block: str, wrapped: bool) -> str | None:
    """`k=v k=v` of a settings block: the body of `x_kwargs={...}` (`wrapped`), or a JSON object of
    `x_kwargs` objects; None when `block` is neither."""
    try:
        parsed = json.loads(block)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    if not wrapped:
        if not parsed or not all(str(k).endswith("_kwargs") and isinstance(v, dict) for k, v in parsed.items()):
            return None
        parsed = {k: v for b in parsed.values() for k, v in b.items()}
    return " ".join(f"{k}={_plain(v)}" for k, v in parsed.items())


def _plain(v: Any) -> str:
    return json.dumps(v, separators=(",", ":")) if isinstance(v, (dict, list)) else str(v)


def _part(key: str, value: Any) -> str:
    text = compact(value)
    return text if key in ("predictor", "search", "variant", "method") else f"{key}={text}"


def labels_of(groups: list[dict[str, Any]]) -> list[str]:
    """A name per line (`groups`: the key values of each line): the informative fields that differ,
    named; plugin settings only where needed to tell two lines apart."""
    if not groups:
        return []
    differ = [k for k in groups[0] if len({str(g[k]) for g in groups}) > 1]
    ranked = ([k for k in differ if k not in CHECKSUM_KEYS + DESCRIPTIVE and k != "variant"]
              + [k for k in differ if k in CHECKSUM_KEYS] + [k for k in differ if k in DESCRIPTIVE])
    kept = [k for k in ranked if k in METHOD_FIELDS]  # what the method is, always said where it differs
    for k in ranked:  # any other field only where it splits lines the fields kept so far do not
        if k in kept:
            continue
        before = len({tuple(str(g[x]) for x in kept) for g in groups})
        if len({tuple(str(g[x]) for x in kept + [k]) for g in groups}) > before:
            kept.append(k)
    kept = [k for k in ranked if k in kept]  # in the order of the fields

    def name(g: dict[str, Any], with_variant: bool) -> str:
        parts = []
        for k in kept + (["variant"] if with_variant and "variant" in differ else []):
            v = g[k]
            if blank(v) or (str(v) in ("none", "0") and k != "predictor"):
                continue
            parts.append(_part(k, v))
        return " ".join(parts) or str(g.get("predictor", "-"))

    short = [name(g, False) for g in groups]
    return [s if short.count(s) == 1 else name(g, True) for s, g in zip(short, groups)]


def fit(names: Iterable[str], limit: int = LIMIT) -> tuple[dict[str, str], list[str]]:
    """{name: legend text of at most `limit` characters} and footnotes ("[1] full name") for the names
    that had to be cut; names are first compacted (settings, checksums)."""
    out: dict[str, str] = {}
    notes: list[str] = []
    for name in dict.fromkeys(names):
        text = compact(name)
        if len(text) > limit:
            mark = f" [{len(notes) + 1}]"
            room = limit - len(mark) - 1
            cut = text[:room + 1].rfind(" ")  # at a word's end where one is not too far back
            text = text[:cut if cut >= room // 2 else room].rstrip() + "\u2026" + mark
            notes.append(f"{mark.strip()} {compact(name)}")
        out[name] = text
    return out, notes
