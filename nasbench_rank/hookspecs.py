"""Every hook a nasbench-rank plugin can implement, and the interface each registered object meets.

A plugin is a module (or any object) with functions marked `@hookimpl`. The built-in predictors,
losses, strategies and spaces register through these same hooks; a third party's are found through
the entry-point group `nasbench_rank`:

```toml
[project.entry-points.nasbench_rank]
myplugin = "my_package.my_module"
```

Each hook is called once per process with one argument, a `register` callback:

    register(name, factory, description="")

`name` is what users type (`--predictor NAME`, `--search NAME`, `--space NAME`, `loss=NAME`);
`factory(**settings)` builds the object, called with the user's settings as keyword arguments. Pass
a class, a function, or `nasbench_rank.plugins.lazy("pkg.module:Class", **preset)`, which imports
nothing until the plugin is used. A name registered twice is set aside and fails naming both
sources; a plugin that fails to import, or whose hook raises, is reported by `nasbench-rank plugins`
while every other plugin keeps working.
"""

import pluggy

PROJECT = "nasbench_rank"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_predictors(register):
    """Register performance predictors.

    `factory(**settings)` returns an estimator that follows scikit-learn's conventions (subclass
    `sklearn.base.BaseEstimator` to get `get_params`, `set_params` and `clone` for free):

    - `__init__(**settings)` only stores its keyword arguments under their own names;
    - `fit(X, y) -> self`: `X` is an `(n, width)` int64 array of elements of the space (`width` is the
      space's element length: 6 op indices for a NAS-Bench-201 cell, 9 choice indices for an FCNet
      configuration); `y` is an `(n,)` float32 array of utilities, higher is better (the metric's
      `Metric.utility`: accuracy as a fraction on NAS-Bench-201, -log MSE on FCNet);
    - `predict(X)`: an `(n,)` array of finite floats on the scale of `y`; a NaN or infinite
      prediction stops the search or evaluation with one line naming the predictor;
    - a `space=None` setting: the framework sets it, through `set_params(space=...)`, to the
      `nasbench_rank.spaces.Space` whose elements it passes. Read it with
      `nasbench_rank.spaces.resolve_space(self.space)` (None is NAS-Bench-201) and encode only
      through the `Space` interface (`one_hot`, `tokens`, `relations`, `dag`, `classes`). A predictor
      without a `space` setting runs on NAS-Bench-201 only;
    - a `seed` (or `random_state`) setting, when the predictor is random: the framework sets it to
      the run's seed unless the user gave one.

    Optional:

    - `predict_std(X)`: predictive standard deviation (uncertainty-aware strategies need it);
    - `partial_fit(X, y) -> self`: continue training on the grown set (warm starts in online
      searches, `--warm-every`);
    - `needs_labels = False` (class attribute) for a proxy that ignores `y`: its rows charge no
      label cost; `query_gpu_hours_` (set after `predict`) reports what reading results cost it;
    - a `loss` setting naming a loss plugin (and `loss_kwargs`), for predictors trained by gradient
      descent, with a `loss_fn=None` setting: the registry hands the built loss object over as
      `loss_fn` when it builds the predictor (name it in a class attribute `injected = ("loss_fn",)`
      so that saving skips it: loading builds through the registry, which hands it over again);
      `loss_history_` (one value per epoch) is checked for non-finite values after `fit`;
    - `dataset` / `table` settings, filled with the source dataset and its table when the user did
      not set them (the proxies read results through them).

    A predictor written to this contract:

    ```python
    import numpy as np
    from sklearn.base import BaseEstimator

    from nasbench_rank.spaces import resolve_space


    class OneHotRidge(BaseEstimator):
        \"\"\"Least squares on the one-hot encoding, with a ridge of `alpha`.\"\"\"

        def __init__(self, alpha: float = 1.0, space=None):
            self.alpha = alpha
            self.space = space

        def fit(self, X, y):
            A = resolve_space(self.space).one_hot(X)
            self.coef_ = np.linalg.solve(A.T @ A + self.alpha * np.eye(A.shape[1]), A.T @ (y - y.mean()))
            self.offset_ = float(np.mean(y))
            return self

        def predict(self, X):
            return resolve_space(self.space).one_hot(X) @ self.coef_ + self.offset_
    ```
    """


@hookspec
def register_losses(register):
    """Register training losses for predictors trained by gradient descent.

    `factory(**settings)` returns a callable

        loss(pred, target) -> scalar tensor

    `pred` and `target` are 1-d float torch tensors of one shape: a batch's predictions and its
    labels (utilities, higher is better; accuracy fractions on NAS-Bench-201, never cast to integers).
    The result is a 0-d tensor attached to `pred`'s graph; the predictor calls `.backward()` on it.
    Draw any randomness (pair sampling, say) from torch's global generator, which the predictor
    seeds. A predictor takes a loss by name through its `loss` setting (`--loss NAME`).

    ```python
    import torch


    class HuberLoss:
        def __init__(self, delta: float = 0.01):
            self.delta = delta

        def __call__(self, pred, target):
            return torch.nn.functional.huber_loss(pred, target, delta=self.delta)
    ```
    """


@hookspec
def register_searches(register):
    """Register search strategies (ask/tell).

    `factory(**settings)` returns a strategy: an object with two methods, called by the framework's
    loop (`nasbench_rank.loop.runner.run_loop`), which pays for every evaluation, keeps the budget
    and the simulated clock, and refits the predictor. Subclassing `nasbench_rank.loop.Strategy`
    is optional.

    - `ask(view, n) -> list`: called whenever a simulated worker is free and nothing is queued; `n`
      is the number of free workers (1 in a sequential search). Return `Request(cell, fidelity)`
      objects or plain elements of the space (a plain element means the full fidelity, `FULL`).
      More than `n` is allowed (the rest queue in `view.pending`); `[]` means nothing to propose,
      and the run ends when nothing is in flight either.
    - `tell(view, observations)`: called with the new `Observation(cell, fidelity, value, cost)`s as
      evaluations finish. `value` is the search metric as a utility (higher is better on every
      space); `cost` is what was paid (0.0 for a repeat, which is free). The same observations are
      in `view.observations`.

    `view` is a `nasbench_rank.loop.SearchView`: the space as a `SpaceView` (elements are tuples of
    `view.space.width` ints on any space: `sample`, `neighbours`, `element`, `ordinal`, encodings),
    `rng` (draw all randomness from it), `observations`, `best()`, `evaluated_mask()`,
    `is_evaluated(cell)`, `pending`, the budget left (`evals_left`, `gpu_hours_left`),
    `fidelities`, and the predictor's `score(cells)` / `std(cells)` (None without a predictor or
    before its first fit). It holds no table, no oracle and no test accuracy.

    Optional attributes the framework reads before the run: `init` (elements the strategy starts
    with at random; a budget below it is refused), `needs_std = True` (refused up front with a
    predictor that has no `predict_std`), `needs_fidelities = (12,)` (refused on a dataset without
    that fidelity). Check settings in `__init__` and raise `nasbench_rank.errors.UserError`, so a bad
    `--search-set` fails before anything runs. A proposal outside the space, a repeat of a pending
    request, or more new evaluations than `view.evals_left` stops the run with one line naming the
    strategy.

    A strategy written to this contract:

    ```python
    import numpy as np

    from nasbench_rank.loop import Request


    class BestScoredRandom:
        \"\"\"Score `pool` random unevaluated elements, evaluate the best one; random without scores.\"\"\"

        def __init__(self, pool: int = 50):
            self.pool = pool

        def ask(self, view, n):
            free = np.flatnonzero(~view.evaluated_mask())
            taken = {view.space.ordinal(r.cell) for r in view.pending}
            free = np.array([i for i in free if i not in taken], dtype=np.int64)
            n = min(n, len(free), view.evals_left if view.evals_left is not None else n)
            if n == 0:
                return []
            picks = view.rng.choice(free, size=min(self.pool, len(free)), replace=False)
            cells = [view.space.element(int(i)) for i in picks]
            scores = view.score(cells)
            order = np.argsort(-scores)[:n] if scores is not None else np.arange(n)
            return [Request(cells[i]) for i in order]

        def tell(self, view, observations):
            pass
    ```
    """


@hookspec
def register_spaces(register):
    """Register search spaces with their benchmark data.

    `factory(**settings)` returns a `nasbench_rank.spaces.Benchmark` whose `space` attribute is a
    `nasbench_rank.spaces.Space`. Building it must be cheap: load data lazily, per dataset, on first
    use. A missing optional dependency raises `nasbench_rank.spaces.ExtraMissing` naming the extra.

    The `Space` (pure combinatorics, no data) sets the class attributes `name`, `size`, `width`
    (length of an element tuple), `n_tokens`, `vocab_size` and `n_relations`, and implements:

    - `parse(text)` / `format(element)`: canonical string and back (`ParseError` on bad input);
    - `ordinals(elements)` -> int64 `(n,)` in `0..size-1`, and `elements(ordinals=None)` -> int64
      `(n, width)` (the whole space, in ordinal order, for None);
    - `neighbours(element)`: the elements one step away;
    - encodings: `one_hot(elements)` -> float32 `(n, d)`, `tokens(elements)` -> int64
      `(n, n_tokens)` in `0..vocab_size-1`, `relations(elements)` -> int64
      `(n, n_tokens, n_tokens)` in `0..n_relations-1`;
    - optionally `dag(element)` -> (adjacency, node labels), and `equivalence_key(element)` (equal
      for elements that compute the same function: what leak-free pools and functional copies use).

    The `Benchmark` sets `name`, `datasets`, `metrics` (name -> `Metric(name, direction, ...,
    unit, log, short)`; direction `"max"` or `"min"`), `default_metric`, and implements:

    - `fidelities(dataset)`: the `Fidelity`s it holds, the full one first;
    - `values(dataset, metric=None, fidelity=None)`: float64 `(size,)`, one value per ordinal;
    - `cost(dataset, fidelity=None)`: training seconds of one evaluation per ordinal (or set
      `cost_unit = "evaluations"` when the data holds no training times);
    - optionally `per_seed(dataset, metric)` -> `(size, n_seeds)` (enables `--oracle seed`),
      `checksum(dataset)` (for provenance columns), `aliases()`.

    The tutorial "A search space" builds a complete one; `nasbench_rank.spaces.base` documents each
    method.
    """
