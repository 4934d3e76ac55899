"""A graph isomorphism network (GIN; Xu, Hu, Leskovec & Jegelka, ICLR 2019) over the cell's DAG, the
graph-predictor family of the NAS predictor literature (e.g. the GCN of Wen et al., ECCV 2020).

Plain torch: a cell has 8 graph nodes, so the whole batch is one dense (B, 8, 8) adjacency and a
batched matmul does the message passing; a sparse graph library (torch-geometric) would add a
dependency and nothing else. The graph is the op-as-node view: node 0 is the input, nodes 1-6 the
six edges' operations, node 7 the output; an edge's node is linked to its successors' nodes, and a
`none` edge (after dead edges are set to `none`, `space.effective_ops`) has no links at all.

Other spaces: the graph is `space.dag` of the element (of its canonical form with ``effective``),
node features the one-hot of the node's label among `space.dag_labels()` plus source and sink flags.
A space without a DAG is refused in one line.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch import nn

from functools import singledispatch

from ..spaces import nb201_cell as space
from ..errors import UserError
from ..spaces import Space, resolve_space
from ..spaces.nb201 import NB201Space
from .bananas import train_regressor
from .threads import torch_threads

N_NODES = space.N_EDGES + 2
N_FEATURES = space.N_OPS + 2  # op one-hot, plus "input" and "output" flags


@singledispatch
def graphs(sp: Space, X, effective: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, N, N) adjacency with A[b, j, i] = 1 when node i feeds node j in `sp.dag`, and (B, N, k + 2)
    node features: the one-hot of the node's label among the k `sp.dag_labels()` (sources and sinks
    have none) and a source and a sink flag. The DAGs of one call must have the same node count."""
    if not sp.has_dag:
        raise UserError(f"predictor 'gin' needs a space with a DAG; space {sp.name!r} has none")
    arr = sp.canonical(X) if effective else sp.as_array(X)
    labels = {label: i for i, label in enumerate(sp.dag_labels())}
    k = len(labels)
    adjs, feats = [], []
    for element in arr:
        adj, names = sp.dag(element)
        adj = (np.asarray(adj) != 0).astype(np.float32)
        if adjs and adj.shape != adjs[0].shape:
            raise UserError(f"predictor 'gin' needs DAGs of one size; space {sp.name!r} has {len(adjs[0])} and {len(adj)} nodes")
        source, sink = adj.sum(axis=0) == 0, adj.sum(axis=1) == 0
        f = np.zeros((len(names), k + 2), dtype=np.float32)
        for i, name in enumerate(names):
            if source[i]:
                f[i, k] = 1.0
            elif sink[i]:
                f[i, k + 1] = 1.0
            else:
                f[i, labels[name]] = 1.0
        adjs.append(adj.T)
        feats.append(f)
    if not adjs:
        return torch.zeros((0, 0, 0)), torch.zeros((0, 0, k + 2))
    return torch.from_numpy(np.stack(adjs)), torch.from_numpy(np.stack(feats))


@graphs.register
def _graphs_nb201(sp: NB201Space, cells, effective: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """NAS-Bench-201: (B, 8, 8) adjacency with A[b, j, i] = 1 when node i feeds node j, and (B, 8, 7)
    node features; a `none` edge's node has no links."""
    arr = space.effective_ops(cells) if effective else space.as_array(cells)
    on = arr != 0
    n = len(arr)
    adj = np.zeros((n, N_NODES, N_NODES), dtype=np.float32)
    for e, (src, dst) in enumerate(space.EDGES):
        node = e + 1
        if src == 0:
            adj[:, node, 0] = on[:, e]
        if dst == 3:
            adj[:, N_NODES - 1, node] = on[:, e]
        for f, (src2, _) in enumerate(space.EDGES):
            if src2 == dst:
                adj[:, f + 1, node] = on[:, e] & on[:, f]
    feats = np.zeros((n, N_NODES, N_FEATURES), dtype=np.float32)
    feats[:, 0, space.N_OPS] = 1.0
    feats[:, -1, space.N_OPS + 1] = 1.0
    np.put_along_axis(feats[:, 1:-1], arr[:, :, None], 1.0, axis=2)
    return torch.from_numpy(adj), torch.from_numpy(feats)


class GINLayer(nn.Module):
    """h' = MLP((1 + eps) h + sum of predecessors' h, sum of successors' h): GIN's sum aggregation,
    with the two directions of the DAG kept apart."""

    def __init__(self, width_in: int, hidden: int):
        super().__init__()
        self.eps = nn.Parameter(torch.zeros(1))
        self.mlp = nn.Sequential(nn.Linear(2 * width_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())

    def forward(self, adj: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        forward = (1 + self.eps) * h + adj @ h
        backward = adj.transpose(1, 2) @ h
        return self.mlp(torch.cat([forward, backward], dim=-1))


class GINNet(nn.Module):
    def __init__(self, hidden: int, layers: int, n_features: int = N_FEATURES):
        super().__init__()
        widths = [n_features] + [hidden] * layers
        self.layers = nn.ModuleList(GINLayer(a, hidden) for a in widths[:-1])
        self.head = nn.Sequential(nn.Linear(hidden * layers, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, adj: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        readouts = []
        for layer in self.layers:
            h = layer(adj, h)
            readouts.append(h.sum(dim=1))  # sum readout of every layer (jumping knowledge)
        return self.head(torch.cat(readouts, dim=-1)).squeeze(-1)


class GINPredictor(BaseEstimator):
    """GIN regressor trained with MSE on standardised labels (Adam, cosine schedule). ``space`` (None:
    NAS-Bench-201) is the space of the elements; one without a DAG is refused."""

    def __init__(self, hidden: int = 64, layers: int = 3, epochs: int = 100, batch_size: int = 64, lr: float = 2e-3,
                 weight_decay: float = 1e-4, effective: bool = True, seed: int = 0, threads: int = 1,
                 space=None):
        self.hidden = hidden
        self.layers = layers
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.effective = effective
        self.seed = seed
        self.threads = threads
        self.space = space

    def fit(self, cells, y) -> "GINPredictor":
        if self.layers < 1 or self.epochs < 1 or self.batch_size < 1 or self.hidden < 1:
            raise UserError("gin needs layers, epochs, batch_size and hidden >= 1")
        adj, feats = graphs(resolve_space(self.space), cells, self.effective)
        y = np.asarray(y, dtype=np.float32)
        self.mean_, self.scale_ = float(y.mean()), float(y.std()) or 1.0
        target = torch.from_numpy((y - self.mean_) / self.scale_)
        with torch_threads(self.threads):
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                net = GINNet(self.hidden, self.layers, feats.shape[-1])
                history = train_regressor(net, (adj, feats), target, epochs=self.epochs, batch_size=self.batch_size,
                                          lr=self.lr, weight_decay=self.weight_decay, loss="mse", seed=self.seed)
        self.network_ = net.eval()
        self.loss_history_ = np.asarray(history, dtype=np.float32)
        return self

    def predict(self, cells) -> np.ndarray:
        adj, feats = graphs(resolve_space(self.space), cells, self.effective)
        with torch_threads(self.threads):
            with torch.no_grad():
                out = self.network_(adj, feats).numpy()
        return (out * self.scale_ + self.mean_).astype(np.float32)
