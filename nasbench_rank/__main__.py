"""`python -m nasbench_rank ...` runs the `nasbench-rank` command."""

from .cli import main

main()
