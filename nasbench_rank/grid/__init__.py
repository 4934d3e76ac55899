"""The grid: a spec's cells run by an executor into an output folder (`store`).

`nasbench_rank.grid.harness.run_grid` ties the parts together; `spec` checks and expands specs.
"""
