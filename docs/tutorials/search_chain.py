"""One search of the chain space from Python: the framework's loop, a built-in strategy."""

from nasbench_rank.loop.runs import run_search

run, trace = run_search(None, "local", space="chain", dataset="easy", budget=30, seed=0)
print(f"best test {run['best_test']:.2f}% after {run['evals']} evaluations; "
      f"optimum reached: {run['reached_optimum']} (evaluation {run['evals_to_optimum']})")
for row in trace[:3]:
    print(row["eval"], row["value"], row["best_value"])
