"""Label-free pretraining for the ACT predictor: before its labelled fit, the network regresses
structural targets computed from each cell alone, over every element of the space (elements are
free; only labels cost).

The targets come from the element's DAG (`space.dag`) in the form the model reads (the canonical,
effective view when `effective` is on), each standardised over the space's forms:
- per op label, the number of live nodes with that op (live: on a source-to-sink path of nodes that
  are not `none`);
- the longest live path, in op nodes, and in "heavy" op nodes (neither skip, identity, pool nor none);
- the number of live source-to-sink paths (log1p);
- on NAS-Bench-201 also the parameter count of the form's network, as the `params` proxy computes it
  (`proxies.parameter_count`; log10).
Constant columns are dropped. A space without a DAG is refused in one line.

The pretraining head (one linear map from the state the regression head reads to the targets) is
thrown away afterwards; the regression and halting heads are not touched by it, so the labelled fit
starts from pretrained embeddings and blocks with fresh heads.
"""

from __future__ import annotations

import math
from weakref import WeakKeyDictionary

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UserError
from ..spaces import Space
from .act_cells import space_index

__all__ = ["structural_targets", "pretrain_set", "pretrain"]

_SETS: "WeakKeyDictionary[Space, dict[bool, tuple[np.ndarray, np.ndarray, tuple[str, ...]]]]" = WeakKeyDictionary()
_PASSIVE = ("none", "input", "output")
_LIGHT = ("none", "skip", "identity", "pool")


def _dag_features(adj: np.ndarray, labels: list[str], ops: tuple[str, ...]) -> list[float]:
    n = len(labels)
    rows, cols = np.nonzero(np.asarray(adj))
    succ: list[list[int]] = [[] for _ in range(n)]
    pred: list[list[int]] = [[] for _ in range(n)]
    for u, v in zip(rows.tolist(), cols.tolist()):
        succ[u].append(v)
        pred[v].append(u)
    indeg = [len(p) for p in pred]
    order, ready = [], [v for v in range(n) if not indeg[v]]
    while ready:  # topological order (Kahn)
        v = ready.pop()
        order.append(v)
        for w in succ[v]:
            indeg[w] -= 1
            if not indeg[w]:
                ready.append(w)
    if len(order) != n:
        raise UserError("pretraining needs acyclic element graphs (space.dag returned a cycle)")
    active = [lab != "none" for lab in labels]
    op = [int(lab not in _PASSIVE) for lab in labels]
    heavy = [int(o and not any(k in lab for k in _LIGHT[1:])) for o, lab in zip(op, labels)]
    # forward: reached from a source through active nodes; longest paths and path counts to each node
    fwd, longest, longest_heavy, paths = [False] * n, [0] * n, [0] * n, [0.0] * n
    for v in order:
        if not active[v]:
            continue
        before = [u for u in pred[v] if fwd[u]]
        if not pred[v]:
            fwd[v], paths[v] = True, 1.0
        elif before:
            fwd[v] = True
            longest[v] = max(longest[u] for u in before)
            longest_heavy[v] = max(longest_heavy[u] for u in before)
            paths[v] = sum(paths[u] for u in before)
        if fwd[v]:
            longest[v] += op[v]
            longest_heavy[v] += heavy[v]
    bwd = [False] * n
    for v in reversed(order):
        bwd[v] = active[v] and (not succ[v] or any(bwd[w] for w in succ[v]))
    live = [f and b for f, b in zip(fwd, bwd)]
    ends = [v for v in range(n) if live[v] and not succ[v]]
    counts = [float(sum(1 for v in range(n) if live[v] and labels[v] == o)) for o in ops]
    return counts + [float(max((longest[v] for v in ends), default=0)),
                     float(max((longest_heavy[v] for v in ends), default=0)),
                     math.log1p(sum(paths[v] for v in ends))]


def structural_targets(space: Space, elements: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """(n, k) raw structural targets of `elements` (see the module doc) and their names; refuses a
    space without a DAG in one line."""
    if not space.has_dag:
        raise UserError(f"pretraining (pretrain_epochs > 0) needs element graphs to compute its structural "
                        f"targets; space {space.name!r} has none (set pretrain_epochs=0)")
    ops = tuple(o for o in space.dag_labels() if o not in _PASSIVE)
    rows = [_dag_features(*space.dag(e), ops) for e in np.asarray(elements).tolist()]
    names = tuple(f"live_{o}" for o in ops) + ("longest_live_path", "longest_heavy_path", "log1p_live_paths")
    out = np.asarray(rows, dtype=np.float64)
    from ..spaces.nb201 import NB201Space

    if isinstance(space, NB201Space):
        from .proxies import parameter_count

        out = np.concatenate([out, np.log10(parameter_count(elements))[:, None]], axis=1)
        names = names + ("log10_params",)
    return out, names


def pretrain_set(space: Space, effective: bool) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(ordinals of the distinct forms the model reads, standardised targets (n, k) float32, names):
    every element of the space in its canonical form when `effective` (else as itself), once each;
    constant targets dropped. Built once per space."""
    cached = _SETS.setdefault(space, {})
    if effective not in cached:
        index = space_index(space)
        forms = np.unique(index.effective) if effective else np.arange(len(index.effective))
        raw, names = structural_targets(space, space.elements(forms))
        std = raw.std(axis=0)
        keep = std > 1e-12
        if not keep.any():
            raise UserError(f"pretraining found no structural target that varies over space {space.name!r}")
        targets = ((raw[:, keep] - raw[:, keep].mean(axis=0)) / std[keep]).astype(np.float32)
        cached[effective] = (forms, targets, tuple(n for n, k in zip(names, keep) if k))
    return cached[effective]


def pretrain(model: nn.Module, space: Space, *, effective: bool, epochs: int, lr: float, batch_size: int,
             steps: int, weight_decay: float, grad_clip: float, warmup: float, seed: int) -> tuple[int, float]:
    """Train `model` in place to regress `pretrain_set`'s targets from the state its regression head
    reads, with deep supervision over `steps` ACT steps (carry detached between them), AdamW with a
    linear warm-up and cosine decay; the head used is discarded. Returns (number of forms, last batch's loss)."""
    forms, targets, _ = pretrain_set(space, effective)
    index = space_index(space)
    device = next(model.parameters()).device
    rng = np.random.default_rng(seed + 104729)
    head = nn.Linear(model.hidden, targets.shape[1]).to(device)
    params = list(model.parameters()) + list(head.parameters())
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embed" not in n] + [head.weight]
    ids = {id(p) for p in decay}
    rest = [p for p in params if id(p) not in ids]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": rest, "weight_decay": 0.0}], lr=lr)
    n = len(forms)
    total = max(1, epochs * math.ceil(n / batch_size) * steps)
    warm = max(1, int(warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / total))))
    tokens_all = index.tokens[forms].to(device)
    y_all = torch.from_numpy(targets).to(device)
    model.train()
    for _ in range(epochs):
        perm = torch.from_numpy(rng.permutation(n)).to(device)
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            z_H = z_L = None
            for _ in range(steps):
                x = model.embed(tokens_all[idx])  # again each step: the last step's graph is freed
                if z_H is None:
                    z_H, z_L = model.init_carry(x.shape[0], x.shape[1])
                z_H, z_L, _, _ = model.step(x, z_H, z_L, model.biases())
                read = z_H[:, 0] if model.summary_token else z_H.mean(dim=1)
                loss = F.mse_loss(head(read), y_all[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if grad_clip:
                    nn.utils.clip_grad_norm_(params, grad_clip)
                opt.step()
                sched.step()
                z_H, z_L = z_H.detach(), z_L.detach()
    if not math.isfinite(float(loss.detach())):
        raise UserError("ACT pretraining diverged (non-finite loss): lower pretrain_lr")
    return n, float(loss.detach())
