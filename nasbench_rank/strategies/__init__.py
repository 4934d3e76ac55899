"""Built-in search strategies: each proposes evaluations through ask/tell (see `nasbench_rank.loop.strategy`)."""
