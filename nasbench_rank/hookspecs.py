"""Every hook a nasbench-rank plugin can implement.

A plugin is a module (or any object) with functions marked ``@hookimpl``. Built-ins and third-party
plugins register through the same hooks; third parties are found through the entry-point group
``nasbench_rank``. Each hook receives a ``register`` callback:

    register(name, factory, description="")

``factory(**kwargs)`` builds the object. Pass a class, a function, or ``lazy("pkg.module:Class",
**preset)`` so that nothing heavy is imported until the plugin is used.
"""

import pluggy

PROJECT = "nasbench_rank"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_predictors(register):
    """Register performance predictors.

    register: callback ``register(name, factory, description="")``; ``factory(**kwargs)`` returns an
    object with ``fit(cells, y) -> self`` and ``predict(cells) -> np.ndarray`` (cells an (n, 6) int
    array, y float32 fractions), and optionally ``predict_std(cells)``.
    """


@hookspec
def register_losses(register):
    """Register training losses for torch-based predictors.

    register: callback ``register(name, factory, description="")``; ``factory(**kwargs)`` returns a
    callable ``loss(pred, target) -> scalar tensor`` on 1-d float tensors.
    """


@hookspec
def register_searches(register):
    """Register search strategies.

    register: callback ``register(name, factory, description="")``; ``factory(**kwargs)`` returns an
    object with ``run(oracle, surrogate, rng)`` that asks ``oracle.evaluate`` until the budget is spent.
    """


@hookspec
def register_spaces(register):
    """Register search spaces with their benchmark data.

    register: callback ``register(name, factory, description="")``; ``factory(**kwargs)`` returns a
    `nasbench_rank.spaces.Benchmark` whose ``space`` is a `nasbench_rank.spaces.Space`. Building it
    must be cheap: load data lazily, per dataset. A missing optional dependency raises
    `nasbench_rank.spaces.ExtraMissing` naming the extra to install.
    """
