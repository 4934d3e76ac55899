"""Sampled whole-module mutation benchmark: a seeded random sample of every mutant of whole modules,
each judged by the suite CI runs.

Not part of CI. Run it as

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/mutation_sample.py --plan          # count and sample, run nothing
    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/mutation_sample.py --minutes 90    # run (resumable)
    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/mutation_sample.py --rerun-survivors
    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/mutation_sample.py --rerun 'loop.oracle#core/NumberReplacer#3'

with the project's environment and the `mutation` extra (cosmic-ray and coverage).

What it does:

1. Copies the working tree (tracked and untracked, not ignored files, `results/` included for the
   tests that read it, `results/mutation/` left out) into a scratch folder (`--work`).
2. Lists every mutant of each target in `benchmarks/mutation/modules.toml` with `cosmic-ray init`,
   keeps those of the operators in `targets.toml` (one replacement per number) inside the target's
   scope: the population. From each target's population it draws a uniform random sample (random
   mutant sampling: the population shuffled by `random.Random(f"{seed}:{target}")`, its first n), sized in proportion to the population
   (largest remainder; the total is `[sample] size`), so each module is one stratum and the pooled
   sample weighs every mutant of the population alike.
3. Runs the whole test suite once, unmutated, under coverage with each test's node id as the
   context: it must pass, and it says which tests run each line.
4. For each sampled mutant (in a seeded random order, one at a time): writes it into the copy, runs
   the test functions that ran its line (those that ran any line of the module when the line runs at
   import: module level, class bodies, signatures) with `pytest -x`; a mutant they do not kill
   (or whose line no test ran in-process: the CLI tests run in subprocesses) is run against the
   whole suite, `python -m pytest -x -q`, before it is called a survivor. Only a failing test of
   the suite kills a mutant. The module is put back (contents and time stamp) after each.
5. Writes `results/mutation/<label>/` (`--label`, default `modules`): `summary.csv` (per module:
   all mutants cosmic-ray lists, the population, the sample, outcomes, score with a Wilson 95%
   interval), `mutants.csv`, `survivors.md` and `provenance.json` (seed, sizes, revision).

Resumable: finished mutants are kept in the scratch folder's ledger with the revision, the tree
fingerprint and the hash of the module they mutated; rerunning runs what is left. A mutant whose
module changed since runs again; one whose tests changed keeps its outcome until `--rerun` or
`--rerun-survivors` runs it again on the current tree (its row then carries that revision).
How-to: docs/how-to/mutation-testing.md.
"""

from __future__ import annotations

import argparse
import ast
import csv
import datetime as dt
import hashlib
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mutation as base  # noqa: E402  (the function-scope benchmark: tree, scope and equivalence helpers)

ROOT = base.ROOT
CONFIG = base.CONFIG_DIR / "modules.toml"
SUITE = ["-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
SLOW = 2.0  # seconds: a kill by a test slower than this (they start processes) must fail again alone
OUTCOMES = ("killed", "survived", "timed_out", "incompetent", "equivalent")
SUMMARY_COLUMNS = ("module", "scope", "all_mutants", "population", "sampled", "tried", "killed", "survived",
                   "unconfirmed", "timed_out", "incompetent", "equivalent", "not_run", "score", "ci_low", "ci_high", "revision")
MUTANT_COLUMNS = ("id", "module", "function", "line", "operator", "outcome", "killed_by", "selected_tests",
                  "subset_seconds", "suite_seconds", "confirmed", "before", "after", "why_equivalent", "revision", "diff")


# ---- configuration and the tree ------------------------------------------------------------------

def load() -> tuple[dict, list[base.Target], list[str], list[dict]]:
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    targets = [base.Target(t["name"], base.module_path(t["module"]), list(t.get("functions", ["*"])), [])
               for t in config["target"]]
    operators = tomllib.loads((base.CONFIG_DIR / "targets.toml").read_text(encoding="utf-8"))["operators"]
    equivalent = tomllib.loads((base.CONFIG_DIR / "equivalent.toml").read_text(encoding="utf-8")).get("equivalent", [])
    return config["sample"], targets, operators, equivalent


def tree_files() -> list[str]:
    names = base.git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    return sorted(n for n in names if n and not n.startswith("results/mutation/") and (ROOT / n).is_file())


def revision() -> tuple[str, bool]:
    rev = base.git("rev-parse", "HEAD").strip()
    return rev, bool(base.git("status", "--porcelain", "--", ".", ":(exclude)results/mutation").strip())


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def env_for_tests() -> dict:
    # No bytecode is written: a mutant and the original module may share size and time stamp second.
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "MPLBACKEND": "Agg"}


def run(args: list[str], tree: Path, timeout: float | None, extra_env: dict | None = None) -> tuple[str, float, str]:
    """('passed' | 'failed' | 'timeout' | 'error', seconds, output tail) of `python <args>` in the
    copy. A run that collects no test is an 'error' (the harness's, never a kill); every other
    failing exit status fails CI and is 'failed', a test module that no longer imports included
    (pytest exits 4 when the tests it was named cannot be collected)."""
    shutil.rmtree(tree / ".hypothesis", ignore_errors=True)  # CI starts without hypothesis's example database
    env = {**env_for_tests(), "PYTHONPATH": str(tree), **(extra_env or {})}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], cwd=tree, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return "timeout", time.perf_counter() - start, ""
    seconds = time.perf_counter() - start
    status = "passed" if proc.returncode == 0 else "error" if proc.returncode == 5 else "failed"
    return status, seconds, out[-3000:]


# ---- the population and the sample ---------------------------------------------------------------

def population(target: base.Target, tree: Path, work: Path, operators: list[str]) -> dict:
    """Every mutant cosmic-ray lists for the module, and those in the population (in scope, of the
    operators, one replacement per number: cosmic-ray's first, +1)."""
    from cosmic_ray.work_db import WorkDB, use_db

    db, cfg = work / "sessions" / f"{target.name}.sqlite", work / "sessions" / f"{target.name}.toml"
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    target.timeout = 60.0
    base.write_cr_config(target, cfg)
    status, err = base.cosmic("init", str(cfg), str(db), cwd=tree)
    if status != 0:
        raise SystemExit(f"cosmic-ray init failed for {target.name}: {err.strip()[-500:]}")
    defs = base.definitions(tree / target.module)
    chosen, numbers, total = [], set(), 0
    with use_db(str(db), WorkDB.Mode.open) as work_db:
        items = sorted(work_db.work_items, key=lambda i: (i.mutations[0].operator_name, i.mutations[0].occurrence))
        for item in items:
            total += 1
            m = item.mutations[0]
            function = base.function_at(defs, m.start_pos[0])
            if m.operator_name not in operators or not base.in_scope(function, target.functions):
                continue
            if m.operator_name == "core/NumberReplacer":
                if m.start_pos in numbers:
                    continue
                numbers.add(m.start_pos)
            chosen.append({"id": f"{target.name}#{m.operator_name}#{m.occurrence}", "operator": m.operator_name,
                           "occurrence": m.occurrence, "line": m.start_pos[0], "end_line": m.end_pos[0],
                           "function": function})
    return {"module": target.module, "module_sha": sha(tree / target.module), "all_mutants": total,
            "mutants": chosen}


def draw(pops: dict[str, dict], seed: int, size: int) -> tuple[dict[str, int], list[str]]:
    """Each target's sample size and the sampled ids, in the order they run in.

    Each target's population is shuffled with `random.Random(f"{seed}:{target}")`; the i-th of a
    target of N mutants is placed at (i + 0.5) / N, and the sample is the first `size` of all
    targets' mutants in that order. Every prefix of the order is thus a stratified random sample
    with sizes in proportion to the populations (within one mutant), and a run stopped early has
    run a smaller sample of the same kind."""
    keyed = []
    for name, p in pops.items():
        ids = sorted(m["id"] for m in p["mutants"])
        random.Random(f"{seed}:{name}").shuffle(ids)
        keyed += [((i + 0.5) / len(ids), name, mid) for i, mid in enumerate(ids)]
    keyed.sort()
    chosen = [mid for _, _, mid in keyed[:size]]
    sizes = {name: sum(n == name for _, n, _ in keyed[:size]) for name in pops}
    return sizes, chosen


# ---- which tests run which line ------------------------------------------------------------------

def build_map(tree: Path, work: Path, targets: list[base.Target], flaky: list[str]) -> dict:
    """Run the whole suite once under coverage (node ids as contexts). Returns, per target, the test
    functions that ran each line, every test function's seconds and the suite's wall time."""
    import coverage

    data_file, durations, rc = work / "coverage.db", work / "durations.json", work / "coveragerc"
    for old in work.glob("coverage.db*"):
        old.unlink()
    rc.write_text("[run]\n" f"data_file = {data_file}\n" "patch = subprocess\n"
                  f"include =\n" + "".join(f"    {tree / t.module}\n" for t in targets), encoding="utf-8")
    args = ["-m", "coverage", "run", f"--rcfile={rc}", *SUITE, "-p", "mutation_contexts",
            *[a for f in flaky for a in ("--deselect", f)]]  # never a killer: no need to map them
    status, seconds, out = run(args, tree, None, {"MUTATION_DURATIONS": str(durations),
                                                  "PYTHONPATH": f"{tree}{os.pathsep}{ROOT / 'benchmarks'}"})
    if status != "passed":
        raise SystemExit(f"the unmutated suite does not pass in {tree}:\n{out}")
    status, _, out = run(["-m", "coverage", "combine", f"--rcfile={rc}", "-q"], work, None)
    if status != "passed":
        raise SystemExit(f"coverage combine failed:\n{out}")
    data = coverage.CoverageData(basename=str(data_file))
    data.read()
    seconds_of: dict[str, float] = {}
    for node, s in json.loads(durations.read_text()).items():
        seconds_of[test_function(node)] = seconds_of.get(test_function(node), 0.0) + s
    lines = {}
    for t in targets:
        by_line = data.contexts_by_lineno(str(tree / t.module))
        lines[t.name] = {str(n): sorted({test_function(c) for c in cs if c}) for n, cs in by_line.items()}
    return {"suite_seconds": round(seconds, 1), "seconds": seconds_of, "lines": lines}


def test_modules(files: list[str]) -> dict[str, str]:
    return {f: sha(ROOT / f) for f in files if f.startswith("tests/") and Path(f).name.startswith("test_")}


def test_function(node_id: str) -> str:
    """A test's function (every parametrisation of it): the node id without its `[...]`."""
    return node_id.split("[", 1)[0]


def runtime_lines(path: Path) -> list[tuple[int, int]]:
    """(first, last) line of every function body: lines that run when the function is called, not
    when the module is imported (module level, class bodies, signatures and decorators)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            body = node.body if isinstance(node.body, list) else [node.body]
            out.append((body[0].lineno, node.end_lineno))
    return out


def statement_line(path: Path, line: int) -> int:
    """The first line of the innermost statement holding `line` (where coverage counts it run)."""
    best = (0, 10**9)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.stmt) and node.lineno <= line <= node.end_lineno:
            if node.end_lineno - node.lineno <= best[1] - best[0]:
                best = (node.lineno, node.end_lineno)
    return best[0] or line


def select(target: base.Target, mutant: dict, tree: Path, cmap: dict) -> list[str]:
    """The test functions that can see the mutant in-process, fastest first."""
    path = tree / target.module
    lines = cmap["lines"][target.name]
    line = mutant["line"]
    if any(first <= line <= last for first, last in runtime_lines(path)):
        span = range(line, mutant["end_line"] + 1)
        tests = {t for n in [*span, statement_line(path, line)] for t in lines.get(str(n), [])}
    else:
        tests = {t for ts in lines.values() for t in ts}
    # test modules added or changed since the map was made run whole, first (they were written to kill)
    tests -= set(cmap.get("flaky", []))
    # a test module changed since the map runs whole (its functions may have been renamed or removed)
    tests = {t for t in tests if t.split("::", 1)[0] not in cmap.get("changed", [])
             and (tree / t.split("::", 1)[0]).is_file()}
    return cmap.get("changed", []) + sorted(tests, key=lambda t: (cmap["seconds"].get(t, 0.0), t))


# ---- one mutant ----------------------------------------------------------------------------------

class Mutant:
    """A sampled mutant written into the copy for the duration of a with-block; the module is put
    back afterwards, contents and time stamp (so that its precompiled original is current again)."""

    def __init__(self, target: base.Target, mutant: dict, tree: Path):
        import difflib

        import cosmic_ray.plugins
        from cosmic_ray.mutating import mutate_code

        self.path, self.error = tree / target.module, "cosmic-ray made no mutation at this occurrence"
        self.original = self.path.read_text(encoding="utf-8")
        operator = cosmic_ray.plugins.get_operator(mutant["operator"])()
        try:
            self.mutated = mutate_code(self.original, operator, mutant["occurrence"])
        except Exception as exc:  # cosmic-ray cannot write this one (a parser node it does not expect)
            self.mutated, self.error = None, f"cosmic-ray could not make this mutant: {type(exc).__name__}: {exc}"
        self.diff = "".join(difflib.unified_diff(self.original.splitlines(True), (self.mutated or "").splitlines(True),
                                                 n=0))

    def __enter__(self) -> "Mutant":
        self.stat = self.path.stat()
        self.path.write_text(self.mutated, encoding="utf-8")
        return self

    def __exit__(self, *exc) -> None:
        self.path.write_text(self.original, encoding="utf-8")
        os.utime(self.path, ns=(self.stat.st_atime_ns, self.stat.st_mtime_ns))


def run_mutant(target: base.Target, mutant: dict, tree: Path, cmap: dict) -> dict:
    """Run the tests that ran the mutant's line. A mutant they do not kill is a survivor to be
    confirmed against the whole suite (`confirm`)."""
    m = Mutant(target, mutant, tree)
    if m.mutated is None:
        return {"outcome": "incompetent", "note": m.error}
    before, after = base.diff_lines(m.diff)
    try:
        compile(m.mutated, str(m.path), "exec")
    except SyntaxError as exc:
        return {"diff": m.diff, "before": before, "after": after, "outcome": "incompetent",
                "note": f"the mutant does not compile: {exc}"}
    tests = select(target, mutant, tree, cmap)
    row = {"diff": m.diff, "before": before, "after": after, "selected_tests": len(tests), "outcome": "survived",
           "confirmed": False}
    if not tests:
        return row
    budget = max(120.0, 4 * (sum(cmap["seconds"].get(t, 0.0) for t in tests) + 15))
    with m:
        status, seconds, out = run(SUITE + tests, tree, budget)
        row.update(subset_seconds=round(seconds, 1))
        if status == "failed":
            test = failing_test(out)
            row.update(outcome="killed", killed_by=test)
            if cmap["seconds"].get(test_function(test), 0.0) > SLOW:  # slow tests start processes and race
                again, _, _ = run(SUITE + [test_function(test)], tree, budget)
                if again != "failed":
                    row.update(outcome="survived", killed_by="", note=f"{test} failed with the others, passed alone")
    if status == "error":
        return {**row, "outcome": "incompetent", "note": out[-800:]}
    if status == "timeout":
        return {**row, "outcome": "timed_out"}
    return row


def confirm(target: base.Target, mutant: dict, tree: Path, cmap: dict) -> dict:
    """Run the whole suite against a survivor. A failure counts only when the failing test fails
    again alone against the mutant (a test that fails by chance kills nothing)."""
    with Mutant(target, mutant, tree):
        status, seconds, out = run(SUITE, tree, max(900.0, 3 * cmap["suite_seconds"]))
        row = {"suite_seconds": round(seconds, 1), "confirmed": True}
        test = failing_test(out)
        if status == "failed" and test_function(test) in cmap.get("flaky", []):  # the suite less that test decides
            status, seconds, out = run(SUITE + [a for f in cmap["flaky"] for a in ("--deselect", f)], tree,
                                       max(900.0, 3 * cmap["suite_seconds"]))
            row.update(suite_seconds=round(seconds, 1), note=f"{test} (known to fail by chance) failed; the "
                                                             "suite without the known ones decided")
            test = failing_test(out)
        if status == "failed":
            again = run(SUITE + [test], tree, 600.0)[0] if test else "failed"
            if again == "failed":
                return {**row, "outcome": "killed", "killed_by": test}
            return {**row, "outcome": "survived", "note": f"{test} failed in the whole suite but passed alone"}
    if status == "timeout":
        return {**row, "outcome": "timed_out"}
    if status == "error":
        return {**row, "outcome": "incompetent", "note": out[-800:]}
    return {**row, "outcome": "survived"}


def failing_test(out: str) -> str:
    for line in out.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" ", 1)[1].split(" - ", 1)[0]
    return ""


# ---- results -------------------------------------------------------------------------------------

def wilson(k: int, n: int) -> tuple[float, float]:
    if not n:
        return float("nan"), float("nan")
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return round(ci.low, 4), round(ci.high, 4)


def rows_of(targets, pops, sample_ids, ledger, equivalent) -> list[dict]:
    by_id = {m["id"]: (name, m) for name, p in pops.items() for m in p["mutants"]}
    rows = []
    for mid in sample_ids:
        if mid not in ledger:
            continue
        name, m = by_id[mid]
        r = ledger[mid]
        module = pops[name]["module"]
        outcome, why = r["outcome"], ""
        if outcome == "survived":
            why = base.why_equivalent(module, m["function"], m["operator"], r.get("before", ""), r.get("after", ""),
                                      equivalent)
            outcome = "equivalent" if why else outcome
        rows.append({"id": mid, "module": module, "function": m["function"], "line": m["line"],
                     "operator": m["operator"], "outcome": outcome, "killed_by": r.get("killed_by", ""),
                     "selected_tests": r.get("selected_tests", ""), "subset_seconds": r.get("subset_seconds", ""),
                     "suite_seconds": r.get("suite_seconds", ""), "confirmed": r.get("confirmed", ""),
                     "before": r.get("before", ""),
                     "after": r.get("after", ""), "why_equivalent": why, "revision": r["revision"],
                     "diff": r.get("diff", "")})
    rows.sort(key=lambda r: (r["module"], int(r["line"]), r["operator"], r["id"]))
    return rows


def summarise(targets, pops, sizes, rows) -> list[dict]:
    out = []
    for t in targets + [None]:
        mine = [r for r in rows if t is None or r["module"] == t.module]
        count = {k: sum(r["outcome"] == k for r in mine) for k in OUTCOMES}
        viable = len(mine) - count["equivalent"] - count["incompetent"]
        killed = count["killed"] + count["timed_out"]
        low, high = wilson(killed, viable)
        names = [t.name] if t else [x.name for x in targets]
        out.append({"module": t.module if t else "TOTAL", "scope": t.scope_text() if t else "",
                    "all_mutants": sum(pops[n]["all_mutants"] for n in names),
                    "population": sum(len(pops[n]["mutants"]) for n in names),
                    "sampled": sum(sizes[n] for n in names), "tried": len(mine), **count,
                    "unconfirmed": sum(r["outcome"] == "survived" and not r["confirmed"] for r in mine),
                    "not_run": sum(sizes[n] for n in names) - len(mine),
                    "score": round(killed / viable, 4) if viable else float("nan"), "ci_low": low, "ci_high": high,
                    "revision": ";".join(sorted({r["revision"] for r in mine}))})
    return out


def write(out: Path, summary: list[dict], rows: list[dict], prov: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, columns, data in (("summary.csv", SUMMARY_COLUMNS, summary), ("mutants.csv", MUTANT_COLUMNS, rows)):
        with open(out / name, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            w.writeheader()
            w.writerows(data)
    seed, size = prov["sample"]["seed"], prov["sample"]["size"]
    lines = [f"# Mutation testing: {prov['label']} (sampled whole modules)", "",
             "Generated by `benchmarks/mutation_sample.py` from `summary.csv` and `mutants.csv`. "
             f"A uniform random sample of {size} of the population's mutants (seed {seed}), drawn in "
             "proportion to each module's population. `all` counts every mutant cosmic-ray lists for the module; "
             "`population` those of the benchmark's operators in scope; score = (killed + timed out) / (tried - "
             "equivalent - incompetent), with its Wilson 95% interval over the sampled mutants. A mutant is "
             "killed only by a failing test of the suite. A survivor survived the tests that ran its line and, "
             "where it says so, the whole suite; `unconfirmed` counts those not yet run against the whole suite "
             "(`--confirm`).", "",
             "| module | scope | all | population | sampled | tried | killed | survived | unconfirmed | timed out "
             "| incompetent | equivalent | score | 95% interval |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for s in summary:
        lines.append(f"| {s['module']} | {str(s['scope']).replace(';', ', ')} | {s['all_mutants']} | "
                     f"{s['population']} | {s['sampled']} | {s['tried']} | {s['killed']} | {s['survived']} | "
                     f"{s['unconfirmed']} | {s['timed_out']} | {s['incompetent']} | {s['equivalent']} | {s['score']} | "
                     f"{s['ci_low']}-{s['ci_high']} |")
    for kind, title in (("survived", "Survivors"), ("equivalent", "Equivalent mutants"),
                        ("incompetent", "Incompetent mutants")):
        chosen = [r for r in rows if r["outcome"] == kind]
        lines += ["", f"## {title} ({len(chosen)})"]
        for r in chosen:
            suite = "survived the whole suite" if r.get("confirmed") is True else "not yet run against the whole suite"
            lines += ["", f"### {r['module']}:{r['line']} `{r['function']}` ({r['operator']})", "",
                      f"Mutant `{r['id']}`, revision {str(r['revision'])[:12]}; {suite}."]
            if r.get("why_equivalent"):
                lines += ["", f"Why equivalent: {r['why_equivalent']}"]
            lines += ["", "```diff", str(r["diff"]).strip(), "```"]
    (out / "survivors.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "provenance.json").write_text(json.dumps(prov, indent=1) + "\n", encoding="utf-8")


# ---- main ----------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--label", default="modules", help="results go to results/mutation/<label>/")
    p.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "nasbench-rank-mutation-modules"),
                   help="scratch folder (the copied tree, the coverage map and the ledger)")
    p.add_argument("--plan", action="store_true", help="count the mutants, draw the sample and stop")
    p.add_argument("--minutes", type=float, default=None, help="stop starting mutants after this long")
    p.add_argument("--rerun", nargs="+", default=[], metavar="ID", help="run these sampled mutants again")
    p.add_argument("--rerun-survivors", action="store_true", help="run every surviving sampled mutant again")
    p.add_argument("--confirm", action="store_true",
                   help="then run the whole suite against every survivor not yet run against it")
    p.add_argument("--fresh", action="store_true", help="forget everything in --work")
    args = p.parse_args(argv)

    sample, targets, operators, equivalent = load()
    rev, dirty = revision()
    stamp = rev + ("+dirty" if dirty else "")
    work = Path(args.work)
    if args.fresh and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    state_path, ledger_path = work / "state.json", work / "ledger.jsonl"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    files = tree_files()
    fp = base.fingerprint([f for f in files if not f.startswith("benchmarks/mutation")], "")  # what the tests see
    tree = work / "tree"
    # the map of which tests run which line holds while the package, the plugins and the test helpers
    # are the same (test modules that changed run whole; a stale map only sends more mutants to the
    # whole suite, which decides)
    map_fp = base.fingerprint([f for f in files if f.startswith(("nasbench_rank/", "plugins/", "tests/"))
                               and f not in test_modules(files)], "")
    if state.get("tree") != fp or not tree.exists():
        base.copy_tree(files, tree)
        state["tree"] = fp
    if state.get("map") and state["map"].get("base") != map_fp:
        state["map"] = None
    for t in targets:  # a run stopped mid-mutant leaves its module mutated: the copy is the checkout's again
        if sha(tree / t.module) != sha(ROOT / t.module):
            shutil.copy2(ROOT / t.module, tree / t.module)
    pops = state.get("populations", {})
    for t in targets:
        if pops.get(t.name, {}).get("module_sha") != sha(tree / t.module) or pops[t.name]["module"] != t.module:
            pops[t.name] = population(t, tree, work, operators)
    state["populations"] = pops
    state_path.write_text(json.dumps(state))
    sizes, sample_ids = draw({t.name: pops[t.name] for t in targets}, sample["seed"], sample["size"])
    print(f"{'target':18} {'all':>5} {'population':>10} {'sample':>6}")
    for t in targets:
        print(f"{t.name:18} {pops[t.name]['all_mutants']:5d} {len(pops[t.name]['mutants']):10d} {sizes[t.name]:6d}")
    print(f"{'TOTAL':18} {sum(p['all_mutants'] for p in pops.values()):5d} "
          f"{sum(len(p['mutants']) for p in pops.values()):10d} {sum(sizes.values()):6d}", flush=True)
    if args.plan:
        return 0

    ledger = {}
    if ledger_path.exists():
        for line in ledger_path.read_text().splitlines():
            r = json.loads(line)
            ledger[r["id"]] = r
    shas = {t.name: pops[t.name]["module_sha"] for t in targets}
    ledger = {k: r for k, r in ledger.items() if shas.get(r["target"]) == r["module_sha"]}  # a changed module runs again
    again = set(args.rerun) | ({k for k, r in ledger.items() if r["outcome"] == "survived"} if args.rerun_survivors
                               else set())
    unknown = set(args.rerun) - set(sample_ids)
    if unknown:
        print(f"not in the sample: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if state.get("map") is None:
        print("mapping which tests run which line (the whole suite once, under coverage) ...", flush=True)
        state["map"] = {**build_map(tree, work, targets, list(sample.get("flaky", []))), "base": map_fp,
                        "tests": test_modules(files)}
        state_path.write_text(json.dumps(state))
        print(f"  the suite took {state['map']['suite_seconds']} s under coverage", flush=True)
    now = test_modules(files)
    cmap = {**state["map"], "changed": sorted(f for f, h in now.items() if state["map"]["tests"].get(f) != h),
            "flaky": list(sample.get("flaky", []))}
    if cmap["changed"]:
        print(f"test modules changed since the map, run whole with every mutant: {', '.join(cmap['changed'])}")
    by_id = {m["id"]: (t, m) for t in targets for m in pops[t.name]["mutants"]}
    todo = [i for i in sample_ids if i not in ledger or i in again]
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    for n, mid in enumerate(todo, 1):
        if args.minutes is not None and time.perf_counter() - t0 > 60 * args.minutes:
            print(f"stopped after {args.minutes} minutes; {len(todo) - n + 1} left", flush=True)
            break
        t, m = by_id[mid]
        start = time.perf_counter()
        r = run_mutant(t, m, tree, cmap)
        r.update(id=mid, target=t.name, module_sha=shas[t.name], revision=stamp, tree=fp,
                 seconds=round(time.perf_counter() - start, 1), at=dt.datetime.now(dt.timezone.utc).isoformat(
                     timespec="seconds"))
        ledger[mid] = r
        with open(ledger_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(r) + "\n")
        print(f"[{n}/{len(todo)}] {mid} line {m['line']}: {r['outcome']} ({r['seconds']} s, "
              f"{r.get('selected_tests', 0)} tests)", flush=True)
    if args.confirm:
        def listed(i: str) -> bool:  # in equivalent.toml: confirmed after the others
            t, m = by_id[i]
            return bool(base.why_equivalent(t.module, m["function"], m["operator"], ledger[i].get("before", ""),
                                            ledger[i].get("after", ""), equivalent))

        waiting = sorted((i for i in sample_ids if i in ledger and ledger[i]["outcome"] == "survived"
                          and not ledger[i].get("confirmed")), key=listed)
        for n, mid in enumerate(waiting, 1):
            if args.minutes is not None and time.perf_counter() - t0 > 60 * args.minutes:
                print(f"stopped after {args.minutes} minutes; {len(waiting) - n + 1} survivors left to confirm")
                break
            t, m = by_id[mid]
            r = {**ledger[mid], **confirm(t, m, tree, cmap), "suite_revision": stamp}
            ledger[mid] = r
            with open(ledger_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(r) + "\n")
            print(f"[confirm {n}/{len(waiting)}] {mid}: {r['outcome']} ({r['suite_seconds']} s)", flush=True)

    rows = rows_of(targets, pops, sample_ids, ledger, equivalent)
    summary = summarise(targets, pops, sizes, rows)
    from importlib.metadata import version

    prov = {"label": args.label, "revision": stamp, "clean": not dirty,
            "revisions_in_rows": sorted({r["revision"] for r in rows}),
            "sample": {"seed": sample["seed"], "size": sample["size"], "method": "uniform random sample of each "
                       "module's population, sizes in proportion to the populations (largest remainder)",
                       "per_module": {t.module: {"all_mutants": pops[t.name]["all_mutants"],
                                                 "population": len(pops[t.name]["mutants"]),
                                                 "sampled": sizes[t.name]} for t in targets}},
            "judge": "test functions that ran the mutated line, then the whole suite (python -m pytest -x -q) "
                     "for every mutant they do not kill",
            "flaky_tests": cmap["flaky"], "suite_seconds_under_coverage": cmap["suite_seconds"],
            "seconds_per_mutant": seconds_stats([ledger[i] for i in sample_ids if i in ledger]),
            "cosmic_ray": version("cosmic-ray"), "coverage": version("coverage"), "python": platform.python_version(),
            "last_invocation": {"started": started, "wall_seconds": round(time.perf_counter() - t0, 1),
                                "command": "python benchmarks/mutation_sample.py " + " ".join(
                                    argv if argv is not None else sys.argv[1:])},
            "operators": operators,
            "targets": [{"name": t.name, "module": t.module, "scope": t.scope_text()} for t in targets]}
    write(base.RESULTS / args.label, summary, rows, prov)
    s = summary[-1]
    print(f"tried {s['tried']}: killed {s['killed']}, survived {s['survived']}, timed out {s['timed_out']}, "
          f"incompetent {s['incompetent']}, equivalent {s['equivalent']}; score {s['score']} "
          f"[{s['ci_low']}, {s['ci_high']}]; wrote {base.RESULTS / args.label}", flush=True)
    return 0


def seconds_stats(done: list[dict]) -> dict:
    import statistics

    xs = [r["seconds"] for r in done if "seconds" in r]
    if not xs:
        return {}
    return {"n": len(xs), "median": round(statistics.median(xs), 1), "mean": round(statistics.fmean(xs), 1),
            "max": max(xs), "whole_suite_runs": sum("suite_seconds" in r for r in done),
            "note": "each mutant's last judgement (for a survivor run again after new tests, that run)"}


if __name__ == "__main__":
    sys.exit(main())
