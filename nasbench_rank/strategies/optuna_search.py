"""Optuna as a search strategy: an Optuna study asks for cells through its own ask/tell.

Each trial suggests a categorical choice for each position of an element (on NAS-Bench-201 one op of
the five for each of the six edges; the parameters are named `edge0`, `edge1`, ... on every space).
A combination that is not an element of the space (NAS-Bench-Graph's four `skip` ops) is told to the
study as a failed trial and another is asked for.
A cell the search already paid for at 200 epochs is never proposed again: the trial is told the
known value at once, and the study is asked for another. A trial that lands on a cell still in
flight waits for that cell's result. Optuna is an optional extra (`pip install 'nasbench-rank[optuna]'`),
imported when the strategy is built; its log output is silenced.
"""

from __future__ import annotations

import warnings
from collections import defaultdict

from ..errors import UserError
from ..loop.protocol import FULL, Request
from ..loop.strategy import Strategy
from ..loop.view import SearchView
from .base import as_cells, capped, check_int, unevaluated

#: Samplers that handle categorical parameters natively. CMA-ES is left out: Optuna's CMA-ES does
#: not model categorical parameters (it hands them to an independent random sampler).
SAMPLERS = ("tpe", "gp", "random", "qmc")
#: Trials told a known value in a row before one unevaluated cell is enqueued instead.
MAX_KNOWN_IN_A_ROW = 20


def _import_optuna():
    try:
        import optuna
    except ImportError:
        raise UserError("search 'optuna' needs Optuna, an optional extra: pip install 'nasbench-rank[optuna]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.logging.disable_default_handler()
    return optuna


class OptunaSearch(Strategy):
    """An Optuna study over the positions of an element (NAS-Bench-201: the six edges' ops),
    maximising the search metric (a utility: higher is better on every space).

    Settings: `sampler` (tpe, gp, random, qmc), `startup` (random trials before TPE/GP model the
    results; >= 1), `multivariate` (TPE only: model the edges jointly). The sampler's seed is drawn
    from `view.rng` at the first ask, so a run's seed reproduces it.
    """

    def __init__(self, sampler: str = "tpe", startup: int = 10, multivariate: bool = False):
        if sampler not in SAMPLERS:
            raise UserError(f"optuna sampler must be one of {', '.join(SAMPLERS)} (categorical choices), got {sampler!r}")
        check_int(1, startup=startup)
        if not isinstance(multivariate, bool):
            raise UserError(f"multivariate must be true or false, got {multivariate!r}")
        self._optuna = _import_optuna()
        self.sampler = sampler
        self.startup = startup
        self.multivariate = multivariate
        self._study = None
        self._choices: tuple[tuple[int, ...], ...] = ()
        self._known: dict[tuple[int, ...], float] = {}
        self._waiting: dict[tuple[int, ...], list] = defaultdict(list)

    def _make_study(self, view: SearchView):
        optuna = self._optuna
        seed = int(view.rng.integers(2**31 - 1))
        samplers = optuna.samplers
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.sampler == "tpe":
                sampler = samplers.TPESampler(seed=seed, n_startup_trials=self.startup, multivariate=self.multivariate)
            elif self.sampler == "gp":
                sampler = samplers.GPSampler(seed=seed, n_startup_trials=self.startup)
            elif self.sampler == "qmc":
                sampler = samplers.QMCSampler(seed=seed, scramble=True, warn_independent_sampling=False,
                                              warn_asynchronous_seeding=False)
            else:
                sampler = samplers.RandomSampler(seed=seed)
            study = optuna.create_study(direction="maximize", sampler=sampler)
        self._choices = tuple(tuple(range(n)) for n in view.space.choices())
        return study

    def _trial_cell(self, trial) -> tuple[int, ...]:
        return tuple(int(trial.suggest_categorical(f"edge{e}", choices)) for e, choices in enumerate(self._choices))

    def tell(self, view: SearchView, observations) -> None:
        for o in observations:
            if o.fidelity != FULL:
                continue
            self._known[o.cell] = o.value
            for trial in self._waiting.pop(o.cell, []):
                self._tell(trial, o.value)

    def _tell(self, trial, value: float) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._study.tell(trial, value)

    def ask(self, view: SearchView, n: int) -> list:
        if self._study is None:
            self._study = self._make_study(view)
        pending = {r.cell for r in view.pending if r.fidelity == FULL}
        picks: list[tuple[int, ...]] = []
        known_in_a_row = 0
        while len(picks) < len(capped(view, range(n))):
            if known_in_a_row >= MAX_KNOWN_IN_A_ROW:  # the sampler has settled: one fresh cell keeps it useful
                fresh = unevaluated(view, view.rng, 1, exclude=picks)
                if len(fresh) == 0:
                    break
                self._study.enqueue_trial({f"edge{e}": int(v) for e, v in enumerate(as_cells(fresh)[0])})
                known_in_a_row = 0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                trial = self._study.ask()
                cell = self._trial_cell(trial)
            try:
                cell = view.space.validate(cell)
            except ValueError:  # not an element of the space: a failed trial
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self._study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
                known_in_a_row += 1
                continue
            if cell in self._known:
                self._tell(trial, self._known[cell])
                known_in_a_row += 1
            elif cell in pending or cell in picks:
                self._waiting[cell].append(trial)
                known_in_a_row += 1
            else:
                self._waiting[cell].append(trial)
                picks.append(cell)
        return [Request(c, FULL) for c in picks]
