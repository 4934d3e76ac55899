"""Documentation pages generated from committed result folders: nothing in them is typed by hand.

    nasbench-rank leaderboard results/NAME --pages docs/results/ [--headline README.md]

writes `docs/results/NAME.md` (and its figures under `docs/results/NAME/`) from what
`results/NAME/` holds: the spec that ran there (its newest run manifest), the revisions and table its
rows name, the protocol of its pools and spaces, and the leaderboard the same command has just
written into `results/NAME/leaderboard/`. The pools' facts (within-class spread, twin shares) come
from `results/pool_facts.csv` (`benchmarks/pool_facts.py`). `--headline` replaces the block between
`HEADLINE_BEGIN` and `HEADLINE_END` of a Markdown file with the headline tables of the folder.

A page is a pure function of files in the repository (the leaderboard's CSV and Markdown, the run
manifests, the pool facts), so a test regenerates every committed page and compares it byte for byte.
"""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any, Callable, Iterable

from ..atomic import write_text
from ..errors import UserError
from .units import report_scale

HEADLINE_BEGIN = "<!-- BEGIN generated: headline -->"
HEADLINE_END = "<!-- END generated: headline -->"
POOL_FACTS = Path("results") / "pool_facts.csv"
LEADERBOARD = "leaderboard"
DATASET_NAMES = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imagenet16": "ImageNet16-120"}
#: What the functional classes merge, stated wherever the leak-free pool is named.
FUNCTIONAL_RULE = ("one cell per functional class. Cells are merged by an expression rule, not by graph "
                   "isomorphism: a `none` edge is zero, `skip_connect` is the identity, an operation fed only by "
                   "zero is zero, and sums are order-free; two cells with the same expression compute the same "
                   "function of their input. Each class is represented by its cell with the lowest NAS-Bench-201 "
                   "index. Trained networks of one class still differ (a convolution fed by a zero node still "
                   "outputs a learned constant)")


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except FileNotFoundError:
        return []


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _newest_manifest(folder: Path) -> dict[str, Any]:
    """The newest run manifest of `folder` that names its spec (the spec that last ran there)."""
    for path in sorted((folder / "runs").glob("*.json"), reverse=True):
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict) and manifest.get("spec_text"):
            return manifest
    return {}


def _spec_facts(folder: Path) -> tuple[str, str, str]:
    """(spec name, spec path, description) of the spec that last ran into `folder`."""
    manifest = _newest_manifest(folder)
    if not manifest:
        return folder.name, "", ""
    try:
        data = tomllib.loads(manifest["spec_text"])
    except tomllib.TOMLDecodeError:
        data = {}
    return str(manifest.get("spec_name", folder.name)), str(manifest.get("spec", "")), str(data.get("description", ""))


def pool_facts(root: Path) -> dict[str, Any]:
    """The facts of `results/pool_facts.csv` under `root`: functional spread per dataset, pool sizes,
    twin shares per pool ({} when the file is missing)."""
    facts: dict[str, Any] = {"spread": {}, "size": {}, "twins": {}}
    rows = _read_csv(root / POOL_FACTS)
    for row in rows:
        if row.get("fact") == "functional_spread":
            facts["spread"][row["dataset"]] = row
        elif row.get("fact") == "pool_size":
            facts["size"][row["pool"]] = int(_num(row["cells"]))
        elif row.get("fact") == "twin_share":
            facts["twins"][row["pool"]] = row
    return facts if rows else {}


def functional_text(facts: dict[str, Any]) -> str:
    """The leak-free pool's rule and the measured within-class spread (CIFAR-10 validation accuracy)."""
    text = f"**Pool `functional` (NAS-Bench-201)**: {FUNCTIONAL_RULE}."
    spread = (facts or {}).get("spread", {}).get("cifar10")
    if spread:
        size = facts["size"].get("functional")
        text += (f" Over the {int(_num(spread['classes_with_copies'])):,} classes with two or more cells"
                 + (f" (of {size:,})" if size else "") +
                 f", the CIFAR-10 validation accuracy spreads within a class (max - min) by a median "
                 f"{_num(spread['range_median']):.2f} points and up to {_num(spread['range_max']):.1f}"
                 f" (`benchmarks/pool_facts.py`). \"Leak-free\" means no test cell computes the same "
                 f"expression as a training cell, not that no test cell has a close twin.")
    return text


def _twin_text(facts: dict[str, Any], pool: str, sizes: set[tuple[str, str]] | None = None) -> str:
    """The measured share of test cells with a functional twin in training, for `pool`'s split (only
    when the folder's split sizes `sizes` are the measured one's)."""
    row = (facts or {}).get("twins", {}).get(pool)
    if not row:
        return ""
    n_train = int(_num(row["n_train"]))
    n_test = facts["size"].get(pool, 0) - n_train if row["n_test"] == "rest" else int(_num(row["n_test"]))
    shown = row["n_test"] if row["n_test"] == "rest" else n_test
    if sizes is not None and sizes != {(n_train, n_test)}:
        return ""
    return (f" With {n_train} training / {shown} test cells, {100 * _num(row['share_mean']):.0f}% of the "
            f"test cells (seeds {row['seeds']}: {100 * _num(row['share_min']):.0f}-{100 * _num(row['share_max']):.0f}%) "
            f"compute the same function as a training cell (`benchmarks/pool_facts.py`).")


def named_protocol_lines(eval_rows: list[dict[str, str]]) -> list[str]:
    """One paragraph per named protocol the rows carry (`quality.protocol.PROTOCOLS`): what it measures."""
    from ..quality.protocol import PROTOCOLS

    named = {r.get("protocol") or "" for r in eval_rows}
    return [f"**Protocol `{name}`**: {about['about']}." for name, about in PROTOCOLS.items() if name in named]


def _scores_whole_pool(row: dict[str, str], facts: dict[str, Any]) -> bool:
    """Whether an eval row scored every cell of its pool, training cells included (`n_test = "all"`)."""
    from ..quality.protocol import ALL, PROTOCOLS

    if PROTOCOLS.get(row.get("protocol") or "", {}).get("n_test") == ALL:
        return True
    size = (facts or {}).get("size", {}).get(row.get("pool", "")) if (row.get("space") or "nb201") == "nb201" else None
    return bool(size) and _num(row.get("n_test")) == size


def protocol_lines(eval_rows: list[dict[str, str]], search_rows: list[dict[str, str]], facts: dict[str, Any]) -> list[str]:
    """What the folder's protocols measure, one paragraph each, from the settings its rows name."""
    out: list[str] = []
    pools = sorted({(r.get("space") or "nb201", r.get("pool", "")) for r in eval_rows})
    for space, pool in pools:
        about = next((r.get("pool_about", "") for r in eval_rows
                      if (r.get("space") or "nb201") == space and r.get("pool") == pool), "")
        if space == "nb201" and pool == "functional":
            out.append(functional_text(facts))
        elif space == "nb201" and pool in ("full", "unique"):
            extra = " (one cell per benchmark `unique_id`)" if pool == "unique" else ""
            sizes = {(r.get("n_train"), r.get("n_test")) for r in eval_rows
                     if (r.get("space") or "nb201") == space and r.get("pool") == pool}
            sizes = {(int(_num(a)), int(_num(b))) for a, b in sizes if math.isfinite(_num(a)) and math.isfinite(_num(b))}
            out.append(f"**Pool `{pool}` (NAS-Bench-201)**: {about or pool}{extra}.{_twin_text(facts, pool, sizes)}")
        else:
            out.append(f"**Pool `{pool}` ({space})**: {about or pool}.")
    if eval_rows:
        out += named_protocol_lines(eval_rows)
        metrics = sorted({(r.get("metric", ""), r.get("score_metric", "") or r.get("metric", "")) for r in eval_rows})
        said = "; ".join(f"trained on `{m}`, scored on `{s}`" for m, s in metrics)
        whole = (" (where `n_test` is the whole pool, on every cell of the pool, training cells included)"
                 if any(_scores_whole_pool(r, facts) for r in eval_rows) else "")
        out.append(f"**Predictor quality**: {said}; training cells drawn with `numpy.random.default_rng(seed)` from "
                   f"the pool, scored on held-out cells of the same pool{whole}; a transfer row scores the same fit on "
                   "another dataset without refitting.")
    if search_rows:
        oracles = sorted({r.get("oracle", "") or "mean" for r in search_rows})
        metrics = sorted({r.get("metric", "") for r in search_rows})
        out.append(f"**Search**: search metric {', '.join(f'`{m}`' for m in metrics)}; labels: "
                   f"{', '.join(oracles)} (`mean`: the mean over training seeds). The best cell is the incumbent "
                   "by the search's own metric; its test value is reported beside it.")
    return out


def _revisions(rows: Iterable[dict[str, str]]) -> list[str]:
    return sorted({r.get("source_revision", "") or "(none recorded)" for r in rows})


def _cells_line(cells: list[dict[str, str]]) -> str:
    asked = sum(int(_num(c.get("asked")) or 0) for c in cells)
    finished = sum(int(_num(c.get("finished")) or 0) for c in cells)
    failed = sum(int(_num(c.get("failed")) or 0) for c in cells)
    return f"{finished} of {asked} cells finished, {failed} failed"


def _demote(markdown: str) -> str:
    """The leaderboard's Markdown one heading level down (the page has its own title)."""
    lines = markdown.splitlines()
    return "\n".join(("#" + line) if re.match(r"#+ ", line) else line for line in lines).strip("\n") + "\n"


def zero_shot_matrices(board: list[dict[str, str]]) -> list[str]:
    """Markdown lines: per predictor (and settings), a source x target matrix of the median Kendall
    over seeds, for every group of sources fitted and scored on the same targets (one per space);
    nothing when the folder fits on one source only."""
    kendall = [r for r in board if r.get("measure") == "kendall"]
    out: list[str] = []
    for key in dict.fromkeys((r["predictor"], r.get("variant", ""), r.get("n_train", "")) for r in kendall):
        rows = [r for r in kendall if (r["predictor"], r.get("variant", ""), r.get("n_train", "")) == key]
        targets_of: dict[str, tuple[str, ...]] = {}
        for r in rows:
            targets_of[r["source"]] = targets_of.get(r["source"], ()) + (r["target"],)
        groups: dict[tuple[str, ...], list[str]] = {}
        for source, targets in targets_of.items():
            groups.setdefault(tuple(sorted(targets)), []).append(source)
        for targets, sources in groups.items():
            if len(sources) < 2:
                continue
            if not out:
                out += ["## Zero-shot matrices", "",
                        "Kendall tau-b, median over seeds: the row's dataset is the one the predictor was fitted on, "
                        "the column's the one it ranks without refitting (the diagonal is the source itself).", ""]
            value = {(r["source"], r["target"]): r for r in rows}
            name = " ".join(p for p in (key[0], key[1], f"n_train {key[2]}") if p)
            out += [f"**{name}** (seeds: {rows[0].get('n', '')})", "",
                    "| fitted on / ranks | " + " | ".join(DATASET_NAMES.get(t, t) for t in targets) + " |",
                    "|---|" + "---|" * len(targets)]
            for source in sources:
                cells = [f"{_num(value[(source, t)]['median']):.3f}" if (source, t) in value else "-" for t in targets]
                out.append(f"| {DATASET_NAMES.get(source, source)} | " + " | ".join(cells) + " |")
            out.append("")
    return out


def figures(folder: Path) -> list[Path]:
    return sorted((folder / LEADERBOARD).glob("*.png"))


def result_page(folder: Path, root: Path, pages_dir: str = "docs/results") -> str:
    """The Markdown page of result folder `folder` (paths in it relative to the repository `root`)."""
    board = folder / LEADERBOARD
    md = board / "leaderboard.md"
    if not md.is_file():
        raise UserError(f"no leaderboard in {folder}: run 'nasbench-rank leaderboard {folder}' first")
    rel = folder.resolve().relative_to(root.resolve()).as_posix() if folder.resolve().is_relative_to(root.resolve()) else folder.as_posix()
    name, _, description = _spec_facts(folder)
    eval_rows = _read_csv(board / "eval_rows.csv")
    search_rows = _read_csv(board / "search_rows.csv")
    rows = eval_rows + search_rows
    tables = sorted({r.get("table_sha256", "") for r in rows if r.get("table_sha256")})
    revisions = _revisions(rows)
    dirty = [r for r in revisions if r.endswith("+dirty")]
    lines = [f"<!-- generated from {rel} by `nasbench-rank leaderboard {rel} --pages {pages_dir}`: "
             "edit the spec or the generator, not this page -->", "", f"# {name}", ""]
    if description:
        lines += [description[0].upper() + description[1:] + ".", ""]
    lines += ["Reproduce it into a scratch folder (ignored by git; nothing tracked changes):", "",
              "```bash", f"nasbench-rank bench benchmarks/{name}.toml --out results/tmp/{name}",
              f"nasbench-rank leaderboard results/tmp/{name}", "```", "",
              f"Extend or update this page from a clean commit: `nasbench-rank bench benchmarks/{name}.toml --out {rel}` "
              f"(finished cells are kept, so only missing cells run), then "
              f"`nasbench-rank leaderboard {rel} --pages {pages_dir}`.", ""]
    lines.append(f"Cells: {_cells_line(_read_csv(board / 'cells.csv'))}. Source revision"
                 f"{'s' if len(revisions) > 1 else ''}: {', '.join(f'`{r}`' for r in revisions)}"
                 + (f" ({len(dirty)} from a tree with uncommitted changes)" if dirty else "")
                 + (f". Table sha256: {', '.join(f'`{t[:16]}...`' for t in tables)}." if tables else "."))
    lines += ["", "## Protocol", ""]
    for paragraph in protocol_lines(eval_rows, search_rows, pool_facts(root)):
        lines += [paragraph, ""]
    lines += zero_shot_matrices(_read_csv(board / "leaderboard_eval.csv"))
    lines += [_demote(md.read_text(encoding="utf-8"))]
    shown = figures(folder)
    if shown:
        lines += ["## Figures", ""]
        lines += [f"![{p.stem}]({name}/{p.name})\n" for p in shown]
    return "\n".join(lines).rstrip("\n") + "\n"


# ---- the README's headline -----------------------------------------------------------------------

def _stat(row: dict[str, str] | None, digits: int | Callable[[Any, Any], str]) -> str:
    """median [low, high] of a leaderboard row, with `digits` decimals or a `units.Scale` format."""
    if not row or not math.isfinite(_num(row.get("median"))):
        return "-"
    m, lo, hi = (_num(row.get(k)) for k in ("median", "median_boot95_low", "median_boot95_high"))
    number = digits if callable(digits) else (lambda v, ref=None: f"{v:.{digits}f}")
    return f"{number(m, m)} [{number(lo, m)}, {number(hi, m)}]"


def _km(row: dict[str, str] | None) -> str:
    if not row:
        return "-"
    med = _num(row.get("km_median"))
    return f"{med:.0f} ({int(_num(row['reached']))}/{int(_num(row['n']))})" if math.isfinite(med) else \
        f"- ({int(_num(row['reached']))}/{int(_num(row['n']))})"


def _modes_text(searches: list[dict[str, str]]) -> str:
    """How the searches' predictors learned, e.g. "predictors pretrained on 900 CIFAR-10 cells; "."""
    said = []
    for mode, n, source in dict.fromkeys((r.get("mode", ""), r.get("n_train", ""), r.get("source", ""))
                                         for r in searches if r.get("predictor") not in ("", "none", None)):
        if mode == "pretrained":
            said.append(f"pretrained on {n} {DATASET_NAMES.get(source, source)} cells")
        elif mode:
            said.append(f"{mode}" + (f" ({n} {DATASET_NAMES.get(source, source)} cells)" if "pretrained" in mode else ""))
    return f"predictors {', '.join(said)}; " if said else ""


def headline(folder: Path, root: Path, pages_dir: str = "docs/results") -> str:
    """The headline tables of a result folder (the article grid): predictor quality per target and
    search per dataset, medians over seeds with 95% bootstrap intervals, from its leaderboard CSVs."""
    board = folder / LEADERBOARD
    evals = _read_csv(board / "leaderboard_eval.csv")
    searches = _read_csv(board / "leaderboard_search.csv")
    if not evals and not searches:
        raise UserError(f"no leaderboard CSVs in {board}: run 'nasbench-rank leaderboard {folder}' first")
    rel = folder.resolve().relative_to(root.resolve()).as_posix() if folder.resolve().is_relative_to(root.resolve()) else folder.as_posix()
    name = _spec_facts(folder)[0]
    out = [HEADLINE_BEGIN,
           f"<!-- generated from {rel} by `nasbench-rank leaderboard {rel} --pages {pages_dir} --headline README.md` -->",
           ""]
    if evals:
        ev = {(r["predictor"], r.get("variant", ""), r["target"], r["n_train"], r["measure"]): r for r in evals}
        first = evals[0]
        columns = list(dict.fromkeys((r["target"], r["n_train"]) for r in evals))
        sizes = list(dict.fromkeys(r["n_train"] for r in evals))
        methods = list(dict.fromkeys((r["predictor"], r.get("variant", "")) for r in evals))
        test_sizes = list(dict.fromkeys(r["n_test"] for r in evals))
        twins = _twin_text(pool_facts(root), first["pool"], {(int(_num(r["n_train"])), int(_num(r["n_test"])))
                                                                for r in evals}) \
            if first.get("pool") in ("full", "unique") else ""
        sources = list(dict.fromkeys(DATASET_NAMES.get(r["source"], r["source"]) for r in evals))
        zero_shot = ", other datasets zero-shot" if any(r["target"] != r["source"] for r in evals) else ""
        head = [DATASET_NAMES.get(t, t) + (f", {n} cells" if len(sizes) > 1 else "") for t, n in columns]
        out += [f"**Predictor quality**: Kendall tau-b, median over {first['n']} seeds [95% bootstrap interval]; "
                f"pool `{first['pool']}`, {' / '.join(sizes)} training cells, {' / '.join(test_sizes)} test cells, "
                f"metric `{first['metric']}`, fitted on {', '.join(sources)}{zero_shot}.{twins}", "",
                "| predictor | " + " | ".join(head) + " |", "|---|" + "---|" * len(columns)]
        for p, v in methods:
            label = f"{p} {v}" if v else p
            out.append(f"| {label} | " + " | ".join(_stat(ev.get((p, v, t, n, "kendall")), 3) for t, n in columns) + " |")
        out.append("")
    if searches:
        se = {(r["predictor"] or "-", r["search"], r["dataset"], r["measure"]): r for r in searches}
        methods = list(dict.fromkeys((r["predictor"] or "-", r["search"]) for r in searches))
        datasets = list(dict.fromkeys(r["dataset"] for r in searches))
        first = searches[0]
        scale = report_scale(first)
        thresholds = {r.get("dataset", ""): r.get("threshold", "") for r in _read_csv(board / "search_rows.csv")}
        said = ", ".join(f"{DATASET_NAMES.get(d, d)} {_num(thresholds[d]):g}" for d in datasets
                         if math.isfinite(_num(thresholds.get(d))))
        out += [f"**Search**: best {scale.label} after {first['budget']} evaluations, median over "
                f"{first['n']} seeds [95% bootstrap interval], and evaluations until the best {scale.name} "
                f"reaches the threshold{f' ({said})' if said else ''} "
                f"(Kaplan-Meier median, reached k/n); {_modes_text(searches)}search metric `{first['metric']}`.", "",
                "| predictor | search | " + " | ".join(DATASET_NAMES.get(d, d) for d in datasets) + " |",
                "|---|---|" + "---|" * len(datasets)]
        for p, s in methods:
            cells = [f"{_stat(se.get((p, s, d, 'best_test')), scale.value)}; {_km(se.get((p, s, d, 'evals_to_threshold')))}"
                     for d in datasets]
            out.append(f"| {p} | {s} | " + " | ".join(cells) + " |")
        out.append("")
    revisions = _revisions(_read_csv(board / "eval_rows.csv") + _read_csv(board / "search_rows.csv"))
    out += [f"Source revision{'s' if len(revisions) > 1 else ''}: {', '.join(f'`{r}`' for r in revisions)}. "
            f"All tables, cell counts and figures: [{pages_dir}/{name}.md]({pages_dir}/{name}.md).", "", HEADLINE_END]
    return "\n".join(out) + "\n"


def replace_block(text: str, block: str, path: str = "the file") -> str:
    """`text` with the part from HEADLINE_BEGIN to HEADLINE_END (markers included) replaced by `block`."""
    start, end = text.find(HEADLINE_BEGIN), text.find(HEADLINE_END)
    if start < 0 or end < start:
        raise UserError(f"{path} has no '{HEADLINE_BEGIN}' ... '{HEADLINE_END}' block to replace")
    return text[:start] + block.rstrip("\n") + text[end + len(HEADLINE_END):]


def write_pages(folder: str | Path, pages_dir: str | Path, headline_file: str | Path | None = None,
                root: str | Path = ".") -> list[Path]:
    """Write the page of `folder` (and its figures) into `pages_dir`, and its headline into the marked
    block of `headline_file`; return the files written."""
    folder, pages, root = Path(folder), Path(pages_dir), Path(root)
    if not folder.is_dir():
        raise UserError(f"--pages needs a results folder, got {folder}")
    pages_rel = pages.as_posix().rstrip("/")
    text = result_page(folder, root, pages_rel)
    name = _spec_facts(folder)[0]
    written = [pages / f"{name}.md"]
    write_text(written[0], text)
    figure_dir = pages / name
    if figure_dir.exists():
        for old in figure_dir.glob("*.png"):
            old.unlink()
    for png in figures(folder):
        figure_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, figure_dir / png.name)
        written.append(figure_dir / png.name)
    if headline_file is not None:
        target = Path(headline_file)
        try:
            current = target.read_text(encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot read {target}: {exc.strerror or exc}") from None
        write_text(target, replace_block(current, headline(folder, root, pages_rel), str(target)))
        written.append(target)
    return written


# ---- the pools page ------------------------------------------------------------------------------

POOLS_PAGE = Path("docs") / "concepts" / "pools.md"


def pools_page(root: str | Path = ".") -> str:
    """`docs/concepts/pools.md`: what each NB201 pool holds and what "leak-free" does and does not
    mean, every number from `results/pool_facts.csv` (written with it by `benchmarks/pool_facts.py`)."""
    facts = pool_facts(Path(root))
    if not facts:
        raise UserError(f"no {POOLS_PAGE.as_posix()} without {POOL_FACTS.as_posix()}: run 'python benchmarks/pool_facts.py'")
    size = facts["size"]
    lines = ["<!-- generated from results/pool_facts.csv by `python benchmarks/pool_facts.py`: edit the script or "
             "nasbench_rank/report/pages.py, not this page -->", "", "# Pools: what leak-free means", "",
             "A predictor-quality protocol draws its training and test cells from a *pool*. Where two cells of the "
             "pool compute the same function, one can land in training and its twin in the test set, and the score "
             "rewards remembering instead of predicting. The NAS-Bench-201 pools:", "",
             "| pool | cells | what it holds | test cells with a functional twin in training |", "|---|---|---|---|"]
    about = {"full": "every cell of the space (the reference article's protocol)",
             "unique": "the first cell of each benchmark `unique_id` (the literature's protocol)",
             "functional": "one cell per functional class, the one with the lowest NAS-Bench-201 index (the leak-free headline)"}
    for pool in ("full", "unique", "functional"):
        row = facts["twins"].get(pool)
        twins = (f"{100 * _num(row['share_mean']):.1f}% ({row['n_train'] if not math.isfinite(_num(row['n_train'])) else int(_num(row['n_train']))} "
                 f"training / {row['n_test'] if row['n_test'] == 'rest' else int(_num(row['n_test']))} test cells, "
                 f"seeds {row['seeds']}: {100 * _num(row['share_min']):.1f}-{100 * _num(row['share_max']):.1f}%)") if row else "-"
        lines.append(f"| `{pool}` | {size.get(pool, 0):,} | {about[pool]} | {twins} |")
    lines += ["", "## The functional classes", "", functional_text(facts), "",
              "The within-class spread of validation accuracy, over the classes with two or more cells (max - min "
              "within a class, in points):", "",
              "| dataset | classes | classes with two or more cells | median spread | largest spread |",
              "|---|---|---|---|---|"]
    for dataset, row in facts["spread"].items():
        lines.append(f"| {DATASET_NAMES.get(dataset, dataset)} | {int(_num(row['classes'])):,} | "
                     f"{int(_num(row['classes_with_copies'])):,} | {_num(row['range_median']):.2f} | "
                     f"{_num(row['range_max']):.1f} |")
    lines += ["", "Other spaces: NAS-Bench-Graph's pool `functional` holds one architecture per class of the "
              "package's own `valid_hash`; FCNet defines no equivalence, so its `functional` pool is every "
              "configuration and no test configuration has a twin.", ""]
    return "\n".join(lines)


def write_pools_page(root: str | Path = ".") -> Path:
    path = Path(root) / POOLS_PAGE
    write_text(path, pools_page(root))
    return path
