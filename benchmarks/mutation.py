"""Mutation benchmark: which one-line bugs in the modules that decide a leaderboard do the tests catch?

Not part of CI (it runs each module's tests once per mutant: tens of minutes). Run it as

    nice -n 10 python benchmarks/mutation.py --label after            # results/mutation/after/
    nice -n 10 python benchmarks/mutation.py --plan                   # count the mutants, run nothing
    nice -n 10 python benchmarks/mutation.py --label after --only report.stats

with the project's environment (cosmic-ray from the `mutation` extra: pip install -e '.[test,mutation]').

What it does:

1. Copies the working tree (tracked and untracked, not ignored files; `results/` left out) into a
   scratch folder (`--work`, default under the system's temp folder), so mutants never touch the
   checkout. The revision is `git rev-parse HEAD`, with `+dirty` when the tree had changes; rows
   from a dirty tree are for trying things out, never for committing.
2. For each target in `benchmarks/mutation/targets.toml` (a module, the functions in scope, the few
   test files that pin them), runs those tests once unmutated (they must pass), then lets cosmic-ray
   (`cosmic-ray init` / `cosmic-ray exec`) mutate the module one site at a time and run them with
   `pytest -x -q -p no:cacheprovider`. Operators: one replacement per site (the list in
   targets.toml), mutants outside the listed functions are left out (marked skipped). Every mutant
   of the hand-written list `manual.toml` (bugs a reviewer injected, which no operator spells) is run
   the same way.
3. Writes `results/mutation/<label>/`: `summary.csv` (per module: tried, killed, survived, timed
   out, incompetent, equivalent, score = (killed + timed out) / (tried - equivalent - incompetent)),
   `mutants.csv` (every mutant and its outcome), `survivors.md` (every survivor with its diff, and
   every equivalent mutant with why, from `equivalent.toml`) and `provenance.json`.

Resumable: the scratch folder keeps cosmic-ray's session databases, each target's keyed by a
fingerprint of what its outcomes depend on (the package, the test helpers, its own test files, its
settings); rerunning runs only what is left, and a target whose fingerprint changed starts over
(its rows then carry the new revision). `--fresh` starts over anyway. `--minutes M` stops starting mutants after M minutes
(cosmic-ray runs them in random order, so what was tried is a random sample; `not_run` counts the
rest). Runs over different targets may share a label (each with its own `--work`): each keeps the
other's rows. How-to: docs/how-to/mutation-testing.md.
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
import re
import shutil
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "benchmarks" / "mutation"
RESULTS = ROOT / "results" / "mutation"
PYTEST = "-m pytest -x -q -p no:cacheprovider"
SUMMARY_COLUMNS = ("module", "scope", "tests", "tried", "killed", "survived", "timed_out", "incompetent", "equivalent",
                   "not_run", "score", "revision")
MUTANT_COLUMNS = ("module", "function", "line", "operator", "outcome", "before", "after", "why_equivalent", "revision",
                  "about", "diff")


# ---- the tree ------------------------------------------------------------------------------------

def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def tree_files() -> list[str]:
    names = git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    return sorted(n for n in names if n and not n.startswith("results/") and (ROOT / n).is_file())


def revision() -> tuple[str, bool]:
    """HEAD and whether the files that are copied and mutated differ from it (results/ is neither
    copied nor counted: it holds this benchmark's own output)."""
    rev = git("rev-parse", "HEAD").strip()
    dirty = bool(git("status", "--porcelain", "--", ".", ":(exclude)results").strip())
    return rev, dirty


def fingerprint(files: list[str], config_text: str) -> str:
    h = hashlib.sha256(config_text.encode())
    for name in files:
        h.update(name.encode() + b"\0" + (ROOT / name).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def target_fingerprint(target: "Target", files: list[str], operators: set[str]) -> str:
    """What a target's outcomes depend on: the package, the test helpers (every file under tests/
    that is not a test module), the target's own test files, its settings and the operators. A
    change elsewhere (another target's tests, docs, results) keeps its finished mutants."""
    own = {t.split("::")[0] for t in target.tests if t.startswith("tests/")}
    chosen = [f for f in files if f.startswith("nasbench_rank/") or f in own
              or (f.startswith("tests/") and not Path(f).name.startswith("test_"))]
    text = json.dumps([target.module, target.functions, target.tests, sorted(operators)])
    return fingerprint(chosen, text)


def copy_tree(files: list[str], dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    for name in files:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    # compiled once here: the test runs write no bytecode, and would otherwise compile every module each time
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(dest / "nasbench_rank"), str(dest / "tests")],
                   check=True, capture_output=True)


# ---- scope ---------------------------------------------------------------------------------------

def definitions(path: Path) -> list[tuple[str, int, int]]:
    """(qualified name, first line, last line) of every function, method and class of a module."""
    out = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                out.append((name, first, child.end_lineno))
                walk(child, name + ".")
            elif isinstance(child, ast.ClassDef):  # its body outside methods is the class's own
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                out.append((prefix + child.name, first, child.end_lineno))
                walk(child, prefix + child.name + ".")

    walk(ast.parse(path.read_text(encoding="utf-8")), "")
    return out


def function_at(defs: list[tuple[str, int, int]], line: int) -> str:
    """The innermost function holding `line`, or "<module>"."""
    best = ("<module>", 0, 10**9)
    for name, first, last in defs:
        if first <= line <= last and last - first <= best[2] - best[1]:
            best = (name, first, last)
    return best[0]


def in_scope(function: str, scope: list[str]) -> bool:
    if "*" in scope:
        return True
    return any(function == s or function.startswith(s + ".") for s in scope)


# ---- targets -------------------------------------------------------------------------------------

@dataclass
class Target:
    name: str
    module: str
    functions: list[str]
    tests: list[str]
    timeout: float = 0.0  # set from the unmutated run

    def command(self) -> str:
        env = "env PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 MPLBACKEND=Agg"
        return f"{env} {sys.executable} {PYTEST} {' '.join(self.tests)}"

    def scope_text(self) -> str:
        return "all" if "*" in self.functions else ";".join(self.functions)


def load_config() -> tuple[dict, list[Target], list[dict], list[dict]]:
    config = tomllib.loads((CONFIG_DIR / "targets.toml").read_text(encoding="utf-8"))
    targets = [Target(t["name"], module_path(t["module"]), list(t.get("functions", ["*"])), list(t["tests"]))
               for t in config["target"]]
    manual = tomllib.loads((CONFIG_DIR / "manual.toml").read_text(encoding="utf-8")).get("mutant", [])
    equivalent = tomllib.loads((CONFIG_DIR / "equivalent.toml").read_text(encoding="utf-8")).get("equivalent", [])
    return config, targets, manual, equivalent


def module_path(module: str | list[str]) -> str:
    """A target's module: a path, or a list of paths (where a module moved), the first that exists."""
    options = [module] if isinstance(module, str) else list(module)
    return next((m for m in options if (ROOT / m).is_file()), options[0])


def config_text() -> str:
    return "".join((CONFIG_DIR / n).read_text(encoding="utf-8") for n in ("targets.toml", "manual.toml"))


# ---- running -------------------------------------------------------------------------------------

def run_tests(target: Target, tree: Path, timeout: float | None) -> tuple[str, float, str]:
    """('passed' | 'failed' | 'timeout', seconds, output tail) of the target's tests in `tree`."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg", "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, *PYTEST.split(), *shlex.split(" ".join(target.tests))],
                              cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - start, ""
    out = (proc.stdout + proc.stderr)[-3000:]
    return ("passed" if proc.returncode == 0 else "failed"), time.perf_counter() - start, out


def cosmic(*args: str, cwd: Path, timeout: float | None = None) -> tuple[int | None, str]:
    """(exit status, stderr) of a cosmic-ray command; status None when `timeout` stopped it (with
    SIGINT, so that it puts the module it was mutating back)."""
    exe = Path(sys.executable).with_name("cosmic-ray")
    env = {**os.environ, "PYTHONPATH": str(cwd), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.Popen([str(exe), "--verbosity", "WARNING", *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout)
        return proc.returncode, err
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
        return None, err


def write_cr_config(target: Target, path: Path) -> None:
    text = (
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(target.module)}\n"
        f"timeout = {target.timeout:.1f}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(target.command())}\n"
        "\n[cosmic-ray.distributor]\nname = \"local\"\n"
    )
    path.write_text(text, encoding="utf-8")


def init_session(target: Target, tree: Path, db: Path, cfg: Path, operators: set[str]) -> None:
    """A cosmic-ray session for the target, with everything out of scope marked skipped."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    status, err = cosmic("init", str(cfg), str(db), cwd=tree)
    if status != 0:
        raise SystemExit(f"cosmic-ray init failed for {target.name}: {err.strip()[-500:]}")
    defs = definitions(tree / target.module)
    skipped, numbers = [], set()
    with use_db(str(db), WorkDB.Mode.open) as work_db:
        items = sorted(work_db.work_items, key=lambda i: (i.mutations[0].operator_name, i.mutations[0].occurrence))
        for item in items:
            m = item.mutations[0]
            if m.operator_name not in operators or not in_scope(function_at(defs, m.start_pos[0]), target.functions):
                skipped.append(item.job_id)
            elif m.operator_name == "core/NumberReplacer":  # one replacement per number: +1 (the first)
                if m.start_pos in numbers:
                    skipped.append(item.job_id)
                numbers.add(m.start_pos)
        work_db.set_multiple_results(skipped, WorkResult(worker_outcome=WorkerOutcome.SKIPPED))


def count_pending(db: Path) -> tuple[int, int]:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome

    with use_db(str(db), WorkDB.Mode.open) as work_db:
        done = [r for _, r in work_db.results]
        total = work_db.num_work_items
        skipped = sum(r.worker_outcome == WorkerOutcome.SKIPPED for r in done)
        return total - skipped, total - len(done)


def run_manual(target: Target, tree: Path, mutants: list[dict], store: Path) -> list[dict]:
    """Run the hand-written mutants of one target (each once; results kept in `store`)."""
    done = json.loads(store.read_text()) if store.exists() else {}
    path = tree / target.module
    for m in mutants:
        key = m["name"]
        if key in done:
            continue
        original = path.read_text(encoding="utf-8")
        if original.count(m["find"]) != 1:
            done[key] = {"outcome": "stale", "output": f"'find' occurs {original.count(m['find'])} times"}
        else:
            mutated = original.replace(m["find"], m["replace"])
            try:
                path.write_text(mutated, encoding="utf-8")
                outcome, _, out = run_tests(target, tree, target.timeout)
            finally:
                path.write_text(original, encoding="utf-8")
            line = original[: original.index(m["find"])].count("\n") + 1
            done[key] = {"outcome": {"passed": "survived", "failed": "killed"}.get(outcome, outcome), "line": line,
                         "output": out[-1500:]}
        store.write_text(json.dumps(done, indent=1))
    return [{**m, **done[m["name"]]} for m in mutants]


# ---- reading results -----------------------------------------------------------------------------

def diff_lines(diff: str) -> tuple[str, str]:
    minus = [l[1:].strip() for l in diff.splitlines() if l.startswith("-") and not l.startswith("---")]
    plus = [l[1:].strip() for l in diff.splitlines() if l.startswith("+") and not l.startswith("+++")]
    return " / ".join(minus), " / ".join(plus)


def why_equivalent(module: str, function: str, operator: str, before: str, after: str,
                   equivalent: list[dict]) -> str:
    for e in equivalent:
        if (e["module"] == module and e.get("function", function) == function and e["operator"] == operator
                and e["before"].strip() == before and e["after"].strip() == after):
            return e["why"]
    return ""


def collect(target: Target, tree: Path, db: Path, manual: list[dict], equivalent: list[dict]) -> list[dict]:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    defs = definitions(tree / target.module)
    rows = []
    with use_db(str(db), WorkDB.Mode.open) as work_db:
        for item, result in work_db.completed_work_items:
            if result.worker_outcome in (WorkerOutcome.SKIPPED, WorkerOutcome.NO_TEST):
                continue
            m = item.mutations[0]
            function = function_at(defs, m.start_pos[0])
            before, after = diff_lines(result.diff or "")
            if result.test_outcome == TestOutcome.INCOMPETENT:
                outcome = "incompetent"
            elif result.test_outcome == TestOutcome.SURVIVED:
                outcome = "survived"
            elif (result.output or "") == "timeout":
                outcome = "timed_out"
            else:
                outcome = "killed"
            why = why_equivalent(target.module, function, m.operator_name, before, after, equivalent) \
                if outcome == "survived" else ""
            rows.append({"module": target.module, "function": function, "line": m.start_pos[0],
                         "operator": m.operator_name, "outcome": "equivalent" if why else outcome,
                         "before": before, "after": after, "why_equivalent": why, "diff": result.diff or ""})
    for m in manual:
        outcome = {"timeout": "timed_out"}.get(m["outcome"], m["outcome"])
        rows.append({"module": target.module, "function": m.get("function", ""), "line": m.get("line", ""),
                     "operator": f"manual/{m['name']}", "outcome": outcome, "before": m["find"].strip(),
                     "after": m["replace"].strip(), "why_equivalent": "",
                     "diff": f"- {m['find']}\n+ {m['replace']}", "about": m.get("about", "")})
    rows.sort(key=lambda r: (str(r["function"]), int(r["line"] or 0), r["operator"]))
    return rows


def summary_row(target: Target, rows: list[dict], rev: str, not_run: int) -> dict:
    count = {k: sum(r["outcome"] == k for r in rows)
             for k in ("killed", "survived", "timed_out", "incompetent", "equivalent", "stale")}
    tried = len(rows) - count["stale"]
    return {"module": target.module, "scope": target.scope_text(), "tests": ";".join(target.tests), "tried": tried,
            **{k: count[k] for k in ("killed", "survived", "timed_out", "incompetent", "equivalent")},
            "not_run": not_run, "score": score_of(count["killed"] + count["timed_out"], tried, count), "revision": rev}


def score_of(killed: int, tried: int, count: dict) -> float:
    viable = tried - int(count["equivalent"]) - int(count["incompetent"])
    return round(killed / viable, 4) if viable else float("nan")


def read_csv(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def write_results(out: Path, summaries: list[dict], rows: list[dict], prov: dict) -> None:
    """Write the label's folder; modules not run in this invocation keep their earlier rows (two
    invocations over different targets may share a label: the folder is locked while written)."""
    import filelock

    out.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(Path(tempfile.gettempdir()) / f"nasbench-rank-mutation-{out.name}.lock")):
        _write_results(out, summaries, rows, prov)


def restamp(runs: list[dict]) -> dict[str, str]:
    """Stamps to correct: a run stamped `+dirty` whose copied tree has the fingerprint of a clean run
    of the same revision measured exactly that revision's files (what made it dirty lay outside the
    copy: before the results folder was excluded from the check, its own earlier output)."""
    clean = {(r["revision"], r["tree_fingerprint"]) for r in runs if r.get("clean")}
    out = {}
    for r in runs:
        base = str(r["revision"]).removesuffix("+dirty")
        if not r.get("clean") and (base, r["tree_fingerprint"]) in clean:
            out[r["revision"]] = base
            r["clean"] = True
            r["revision_note"] = (f"stamped {r['revision']}; its copied tree has fingerprint {r['tree_fingerprint']}, "
                                  f"the same as a clean run of {base[:12]}: only results/ differed")
            r["revision"] = base
    return out


def new_label(prov: dict | list[dict]) -> str:
    return (prov[0] if isinstance(prov, list) else prov)["label"]


def merge_from(src: Path, out: Path) -> None:
    """Merge another results folder of the same label into `out` (each module's rows from the folder
    that has them; `src` wins where both do)."""
    prov = json.loads((src / "provenance.json").read_text())
    summaries = [s for s in read_csv(src / "summary.csv") if s["module"] != "TOTAL"]
    rows = read_csv(src / "mutants.csv")
    import filelock

    out.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(Path(tempfile.gettempdir()) / f"nasbench-rank-mutation-{out.name}.lock")):
        _write_results(out, summaries, rows, prov["runs"])


def _write_results(out: Path, summaries: list[dict], rows: list[dict], prov: dict | list[dict]) -> None:
    ran = {s["module"] for s in summaries}
    summaries = [s for s in read_csv(out / "summary.csv") if s["module"] not in ran | {"TOTAL"}] + summaries
    rows = [r for r in read_csv(out / "mutants.csv") if r["module"] not in ran] + rows
    old_runs = json.loads((out / "provenance.json").read_text())["runs"] if (out / "provenance.json").exists() else []
    fixes = restamp(old_runs + (prov if isinstance(prov, list) else [prov]))
    for item in summaries + rows:
        item["revision"] = fixes.get(item["revision"], item["revision"])
    # equivalence is judged now, from the current equivalent.toml, and the counts follow the rows
    equivalent = tomllib.loads((CONFIG_DIR / "equivalent.toml").read_text(encoding="utf-8")).get("equivalent", [])
    for r in rows:
        if r["outcome"] in ("survived", "equivalent"):
            why = why_equivalent(r["module"], r["function"], r["operator"], r["before"], r["after"], equivalent)
            r["outcome"], r["why_equivalent"] = ("equivalent", why) if why else ("survived", "")
    for summary in summaries:
        mine = [r for r in rows if r["module"] == summary["module"]]
        count = {k: sum(r["outcome"] == k for r in mine)
                 for k in ("killed", "survived", "timed_out", "incompetent", "equivalent", "stale")}
        summary.update({k: count[k] for k in ("killed", "survived", "timed_out", "incompetent", "equivalent")})
        summary["tried"] = len(mine) - count["stale"]
        summary["score"] = score_of(count["killed"] + count["timed_out"], summary["tried"], count)
    summaries.sort(key=lambda s: s["module"])
    rows.sort(key=lambda r: (r["module"], str(r["function"]), int(r["line"] or 0), r["operator"]))
    total = {"module": "TOTAL", "scope": "", "tests": "",
             "revision": ";".join(sorted({str(s["revision"]) for s in summaries}))}
    for k in ("tried", "killed", "survived", "timed_out", "incompetent", "equivalent", "not_run"):
        total[k] = sum(int(s[k]) for s in summaries)
    total["score"] = score_of(total["killed"] + total["timed_out"], total["tried"], total)
    with open(out / "summary.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=SUMMARY_COLUMNS)
        w.writeheader()
        w.writerows(summaries + [total])
    with open(out / "mutants.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=MUTANT_COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    lines = [f"# Mutation testing: {new_label(prov)}", "",
             "Generated by `benchmarks/mutation.py` from `summary.csv` and `mutants.csv` (the revision of each "
             "module's run is in its row; `provenance.json` says how each run was made). Score = (killed + timed "
             "out) / (tried - equivalent - incompetent); `not_run`: mutants in scope that this run did not reach.",
             "", "| module | scope | tried | killed | survived | timed out | incompetent | equivalent | not run | "
             "score | revision |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for s in summaries + [total]:
        lines.append(f"| {s['module']} | {str(s['scope']).replace(';', ', ')} | {s['tried']} | {s['killed']} | "
                     f"{s['survived']} | {s['timed_out']} | {s['incompetent']} | {s['equivalent']} | {s['not_run']} "
                     f"| {s['score']} | {str(s['revision'])[:12]} |")
    manual = [r for r in rows if str(r["operator"]).startswith("manual/")]
    lines += ["", f"## Hand-written mutants ({len(manual)})", "", "| module | mutant | outcome | what a user would see |",
              "| --- | --- | --- | --- |"]
    lines += [f"| {r['module']} | {r['operator'][7:]} | {r['outcome']} | {r.get('about', '')} |" for r in manual]
    for kind, title in (("survived", "Survivors"), ("equivalent", "Equivalent mutants"), ("stale", "Stale")):
        chosen = [r for r in rows if r["outcome"] == kind]
        lines += ["", f"## {title} ({len(chosen)})"]
        for r in chosen:
            lines += ["", f"### {r['module']}:{r['line']} `{r['function']}` ({r['operator']})"]
            if r.get("about"):
                lines += ["", str(r["about"])]
            if r.get("why_equivalent"):
                lines += ["", f"Why equivalent: {r['why_equivalent']}"]
            lines += ["", "```diff", str(r["diff"]).strip(), "```"]
    (out / "survivors.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    new = prov if isinstance(prov, list) else [prov]
    runs = [r for r in old_runs if not {t["module"] for t in r["targets"]} <= ran] + new
    (out / "provenance.json").write_text(json.dumps({"label": new[0]["label"], "runs": runs}, indent=1) + "\n",
                                         encoding="utf-8")


# ---- main ----------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--label", default="latest", help="results go to results/mutation/<label>/")
    p.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "nasbench-rank-mutation"),
                   help="scratch folder (the copied tree and cosmic-ray's sessions)")
    p.add_argument("--only", action="append", default=[], help="a target name (repeatable)")
    p.add_argument("--plan", action="store_true", help="count the mutants in scope and stop")
    p.add_argument("--fresh", action="store_true", help="forget earlier sessions in --work")
    p.add_argument("--merge-from", default=None, help="merge another results folder into this label's and stop")
    p.add_argument("--minutes", type=float, default=None,
                   help="stop starting mutants after this long (a rerun goes on where it stopped)")
    args = p.parse_args(argv)

    from importlib.metadata import version

    if args.merge_from:
        merge_from(Path(args.merge_from), RESULTS / args.label)
        print(f"merged {args.merge_from} into {RESULTS / args.label}")
        return 0
    config, targets, manual, equivalent = load_config()
    if args.only:
        unknown = set(args.only) - {t.name for t in targets}
        if unknown:
            print(f"unknown target(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        targets = [t for t in targets if t.name in args.only]
    operators = set(config["operators"])
    rev, dirty = revision()
    stamp = rev + ("+dirty" if dirty else "")
    files = tree_files()
    fp = fingerprint(files, config_text())
    work = Path(args.work)
    state_path = work / "state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    if args.fresh or "targets" not in state:
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        state = {"targets": {}}
    if state.get("tree") != fp:  # the copy follows the working tree; each target's sessions keep or go below
        copy_tree(files, work / "tree")
        state["tree"] = fp
        state_path.write_text(json.dumps(state, indent=1))
    tree = work / "tree"
    sessions = work / "sessions"
    sessions.mkdir(exist_ok=True)
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    deadline = None if args.minutes is None else t0 + 60 * args.minutes

    summaries, all_rows = [], []
    for target in targets:
        db, cfg = sessions / f"{target.name}.sqlite", sessions / f"{target.name}.toml"
        mine = [m for m in manual if m["target"] == target.name]
        tfp = target_fingerprint(target, files, operators)
        known = state["targets"].get(target.name, {})
        if known.get("fingerprint") != tfp:  # its module, tests or settings changed: its mutants run again
            for old in (db, sessions / f"{target.name}.manual.json"):
                old.unlink(missing_ok=True)
            known = state["targets"][target.name] = {"fingerprint": tfp, "revision": stamp}
            state_path.write_text(json.dumps(state, indent=1))
        if args.plan:
            target.timeout = known.get("timeout", 60.0)
        elif "timeout" not in known:
            outcome, seconds, out = run_tests(target, tree, None)
            if outcome != "passed":
                print(f"{target.name}: its tests fail before any mutation:\n{out}", file=sys.stderr)
                return 1
            known["timeout"] = round(max(60.0, 5.0 * seconds), 1)
            state_path.write_text(json.dumps(state, indent=1))
        if not args.plan:
            target.timeout = known["timeout"]
        run_stamp = known["revision"]  # the revision its first mutant ran on (the same code by its fingerprint)
        write_cr_config(target, cfg)
        if not db.exists():
            init_session(target, tree, db, cfg, operators)
        in_scope_n, pending = count_pending(db)
        print(f"{target.name}: {in_scope_n} mutants in scope + {len(mine)} hand-written, {pending} to run, "
              f"timeout {target.timeout:.0f} s", flush=True)
        if args.plan:
            continue
        left = None if deadline is None else deadline - time.perf_counter()
        if pending and (left is None or left > 0):
            pristine = (tree / target.module).read_bytes()
            try:
                status, err = cosmic("exec", str(cfg), str(db), cwd=tree, timeout=left)
            finally:
                (tree / target.module).write_bytes(pristine)  # whatever happened, the module is itself again
            if status not in (0, None):
                print(f"cosmic-ray exec failed for {target.name}: {err.strip()[-800:]}", file=sys.stderr)
                return 1
        ran = run_manual(target, tree, mine, sessions / f"{target.name}.manual.json")
        _, pending = count_pending(db)
        rows = [{**r, "revision": run_stamp} for r in collect(target, tree, db, ran, equivalent)]
        summaries.append(summary_row(target, rows, run_stamp, pending))
        all_rows += rows
        s = summaries[-1]
        print(f"  tried {s['tried']}: killed {s['killed']}, survived {s['survived']}, timed out {s['timed_out']}, "
              f"incompetent {s['incompetent']}, equivalent {s['equivalent']}, not run {pending}; score {s['score']}",
              flush=True)
    if args.plan:
        return 0
    prov = {"label": args.label, "revision": stamp, "clean": not dirty, "tree_fingerprint": fp,
            "target_fingerprints": {t.name: state["targets"][t.name] for t in targets},
            "cosmic_ray": version("cosmic-ray"), "python": platform.python_version(),
            "started": started, "wall_seconds": round(time.perf_counter() - t0, 1),
            "command": "python benchmarks/mutation.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "operators": sorted(operators),
            "targets": [{"name": t.name, "module": t.module, "scope": t.scope_text(), "tests": t.tests,
                         "timeout_s": t.timeout} for t in targets],
            "hand_written_mutants": len([m for m in manual if m["target"] in {t.name for t in targets}])}
    write_results(RESULTS / args.label, summaries, all_rows, prov)
    print(f"wrote {RESULTS / args.label}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
