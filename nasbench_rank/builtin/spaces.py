"""Built-in search spaces: NAS-Bench-201, NAS-Bench-Graph and FCNet."""

from ..hookspecs import hookimpl
from ..plugins import lazy


@hookimpl
def register_spaces(register):
    register("nb201", lazy("nasbench_rank.spaces.nb201:NB201Benchmark"),
             "NAS-Bench-201 cells (15,625; CIFAR-10, CIFAR-100, ImageNet16-120); table shipped in the package")
    register("nbgraph", lazy("nasbench_rank.spaces.nbgraph:NBGraphBenchmark"),
             "NAS-Bench-Graph GNN architectures (59,040 in 26,206 classes; 9 datasets); extra 'graph'")
    register("fcnet", lazy("nasbench_rank.spaces.fcnet:FCNetBenchmark"),
             "FCNet architecture + hyperparameter tables (62,208; 4 datasets; lower is better); extra 'hpo'")
