"""A tiny recursive reasoning transformer with adaptive computation time (ACT) that regresses a
cell's accuracy from one token per edge.

The cell is read as six edge tokens (op embedding + edge-position embedding, scaled by sqrt(hidden)),
optionally after a summary token that the heads read. One shared stack of post-norm blocks ("the net")
is applied recursively to two latent states: z_L (reasoning) and z_H (answer). Each ACT step runs
`H_cycles` cycles of `L_cycles` z_L updates and one z_H update, with gradients only through the last
cycle; the (z_H, z_L) carry is detached between steps, every step is supervised, and a halting head
learns whether the current answer is already within `halt_tolerance` of the label.

Two things carry the DAG into a model that otherwise only sees a bag of edges: a learned attention
bias per pair relation of edges (one feeds the other, shared source, shared target, unrelated), and
an effective-op view that turns dead edges (ones that never connect input to output) into `none`.
`augment="functional"` replaces each training cell, every epoch, by a random cell that computes the
same function (`space.functional_key`), and `tta` averages predictions over such copies.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import space
from ..errors import UserError

# Relations between two tokens, indexing the learned attention bias. Token 0 is the summary token
# when there is one; edge tokens follow in `space.EDGES` order.
_REL_SELF, _REL_FEEDS, _REL_FED_BY, _REL_SAME_SRC, _REL_SAME_DST, _REL_NONE = range(6)
_REL_SUM_TO_EDGE, _REL_EDGE_TO_SUM, _REL_SUM_SELF = 6, 7, 8
N_RELATIONS = 9


def edge_relations(summary_token: bool) -> torch.Tensor:
    """(T, T) long: the relation of query token i to key token j in the cell's DAG."""
    n = space.N_EDGES
    rel = torch.full((n, n), _REL_NONE, dtype=torch.long)
    for i, (si, di) in enumerate(space.EDGES):
        for j, (sj, dj) in enumerate(space.EDGES):
            if i == j:
                rel[i, j] = _REL_SELF
            elif di == sj:
                rel[i, j] = _REL_FEEDS
            elif dj == si:
                rel[i, j] = _REL_FED_BY
            elif si == sj:
                rel[i, j] = _REL_SAME_SRC
            elif di == dj:
                rel[i, j] = _REL_SAME_DST
    if not summary_token:
        return rel
    full = torch.empty((n + 1, n + 1), dtype=torch.long)
    full[0, 0] = _REL_SUM_SELF
    full[0, 1:] = _REL_SUM_TO_EDGE
    full[1:, 0] = _REL_EDGE_TO_SUM
    full[1:, 1:] = rel
    return full


def effective_ops(cells: np.ndarray) -> np.ndarray:
    """Cells with every dead edge set to `none` (op 0): an edge is live when its source is reachable
    from the input and its target reaches the output through non-`none` edges."""
    arr = np.asarray(cells)
    on = arr != 0
    # reachable from input: node 0 always; node k if some live-able edge into k comes from a reachable node
    reach = [np.ones(len(arr), dtype=bool)] + [np.zeros(len(arr), dtype=bool) for _ in range(3)]
    for e, (s, d) in enumerate(space.EDGES):
        reach[d] |= reach[s] & on[:, e]
    # reaches output: node 3 always; walk edges backwards in reverse topological order
    to_out = [np.zeros(len(arr), dtype=bool) for _ in range(3)] + [np.ones(len(arr), dtype=bool)]
    for e, (s, d) in reversed(list(enumerate(space.EDGES))):
        to_out[s] |= to_out[d] & on[:, e]
    live = np.stack([on[:, e] & reach[s] & to_out[d] for e, (s, d) in enumerate(space.EDGES)], axis=1)
    return np.where(live, arr, 0)


@lru_cache(maxsize=1)
def _functional_groups() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(group of each ordinal, group start offsets, ordinals sorted by group) over the whole space."""
    keys = [space.functional_key(c) for c in space.all_cells()]
    _, group = np.unique(np.array(keys, dtype=object).astype(str), return_inverse=True)
    order = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[order], np.arange(group.max() + 2))
    return group, starts, order


def functional_copies(cells: np.ndarray) -> list[np.ndarray]:
    """For each cell, the ordinals of every cell that computes the same function (itself included)."""
    group, starts, order = _functional_groups()
    ords = space.ordinals(cells)
    return [order[starts[g]:starts[g + 1]] for g in group[ords]]


class Block(nn.Module):
    """Post-norm transformer block: x = norm(x + attn(x)); x = norm(x + swiglu(x))."""

    def __init__(self, hidden: int, heads: int, expansion: float):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden, bias=False)
        self.out = nn.Linear(hidden, hidden, bias=False)
        inner = int(round(expansion * hidden))
        self.gate_up = nn.Linear(hidden, 2 * inner, bias=False)
        self.down = nn.Linear(inner, hidden, bias=False)
        self.norm1 = nn.RMSNorm(hidden)
        self.norm2 = nn.RMSNorm(hidden)

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        b, t, h = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, h // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        x = self.norm1(x + self.out(a.transpose(1, 2).reshape(b, t, h)))
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.norm2(x + self.down(F.silu(gate) * up))


class RecursiveNet(nn.Module):
    """Embeddings, the shared block stack, the recursion and the two heads."""

    def __init__(self, hidden: int, heads: int, expansion: float, L_layers: int, H_cycles: int, L_cycles: int,
                 summary_token: bool, graph_bias: bool):
        super().__init__()
        if hidden % heads:
            raise UserError(f"hidden ({hidden}) must be a multiple of heads ({heads})")
        self.hidden, self.H_cycles, self.L_cycles = hidden, H_cycles, L_cycles
        self.summary_token = summary_token
        self.scale = math.sqrt(hidden)
        n_tokens = space.N_EDGES + int(summary_token)
        self.op_embed = nn.Embedding(space.N_OPS + 1, hidden)  # last index: the summary token
        nn.init.normal_(self.op_embed.weight, std=1.0 / self.scale)  # unit scale after the sqrt(hidden) factor
        self.pos_embed = nn.Parameter(torch.randn(n_tokens, hidden) / self.scale)
        self.blocks = nn.ModuleList(Block(hidden, heads, expansion) for _ in range(L_layers))
        self.rel_bias = nn.Parameter(torch.zeros(L_layers, N_RELATIONS, heads)) if graph_bias else None
        self.register_buffer("relations", edge_relations(summary_token), persistent=True)
        self.register_buffer("z_H0", torch.randn(hidden) / self.scale)
        self.register_buffer("z_L0", torch.randn(hidden) / self.scale)
        self.reg_head = nn.Linear(hidden, 1)
        self.halt_head = nn.Linear(hidden, 1)
        nn.init.zeros_(self.reg_head.weight)
        nn.init.zeros_(self.reg_head.bias)
        nn.init.zeros_(self.halt_head.weight)
        nn.init.constant_(self.halt_head.bias, -3.0)  # start by not halting

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.summary_token:
            lead = torch.full((tokens.shape[0], 1), space.N_OPS, dtype=tokens.dtype)
            tokens = torch.cat([lead, tokens], dim=1)
        return (self.op_embed(tokens) + self.pos_embed) * self.scale

    def biases(self) -> list[torch.Tensor | None]:
        """Per layer (1, heads, T, T) additive attention bias from the DAG relations."""
        if self.rel_bias is None:
            return [None] * len(self.blocks)
        return [self.rel_bias[i][self.relations].permute(2, 0, 1).unsqueeze(0) for i in range(len(self.blocks))]

    def net(self, z: torch.Tensor, biases: list[torch.Tensor | None]) -> torch.Tensor:
        for block, bias in zip(self.blocks, biases):
            z = block(z, bias)
        return z

    def init_carry(self, batch: int, tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (batch, tokens, self.hidden)
        return self.z_H0.expand(shape), self.z_L0.expand(shape)

    def step(self, x: torch.Tensor, z_H: torch.Tensor, z_L: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One ACT step: the recursion, then (z_H, z_L, raw prediction, halt logit)."""
        biases = self.biases()
        with torch.no_grad():
            for _ in range(self.H_cycles - 1):
                for _ in range(self.L_cycles):
                    z_L = self.net(z_L + z_H + x, biases)
                z_H = self.net(z_H + z_L, biases)
        for _ in range(self.L_cycles):
            z_L = self.net(z_L + z_H + x, biases)
        z_H = self.net(z_H + z_L, biases)
        read = z_H[:, 0] if self.summary_token else z_H.mean(dim=1)
        # The halting head reads a detached state: accuracy losses are ~1e-3 while the halting
        # cross-entropy is ~0.3, and letting it shape the shared net collapses the regression.
        return z_H, z_L, self.reg_head(read).squeeze(-1), self.halt_head(read.detach()).squeeze(-1)


class ACTPredictor:
    """Recursive transformer with deep supervision and learned halting; any loss plugin.

    Every setting is a keyword argument; defaults fit 900 cells in under a minute on one CPU thread.
    They keep one recursion cycle and one ACT step because, on 900 cells, more cycles or steps
    ranked worse at several times the cost (benchmarks/act_tuning.py); raise `H_cycles`, `L_cycles`
    and `halt_max_steps` for the full recursion. `n_models > 1` trains a seed ensemble (mean
    prediction, `predict_std` its spread).
    """

    def __init__(self, loss: str | Callable = "mixed", loss_kwargs: dict | None = None, hidden: int = 64,
                 heads: int = 4, expansion: float = 2.0, L_layers: int = 2, H_cycles: int = 1, L_cycles: int = 1,
                 halt_max_steps: int = 1, halt_exploration: float = 0.1, halt_tolerance: float = 0.005,
                 halt_weight: float = 0.1, summary_token: bool = True, graph_bias: bool = True,
                 effective: bool = True, augment: str = "functional", tta: int = 8, epochs: int = 60,
                 batch_size: int = 32, lr: float = 2e-3, weight_decay: float = 0.01, warmup: float = 0.05,
                 grad_clip: float = 1.0, n_models: int = 1, seed: int = 0, threads: int = 1):
        self.loss = loss
        self.loss_kwargs = loss_kwargs
        self.hidden = hidden
        self.heads = heads
        self.expansion = expansion
        self.L_layers = L_layers
        self.H_cycles = H_cycles
        self.L_cycles = L_cycles
        self.halt_max_steps = halt_max_steps
        self.halt_exploration = halt_exploration
        self.halt_tolerance = halt_tolerance
        self.halt_weight = halt_weight
        self.summary_token = summary_token
        self.graph_bias = graph_bias
        self.effective = effective
        self.augment = augment
        self.tta = tta
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup = warmup
        self.grad_clip = grad_clip
        self.n_models = n_models
        self.seed = seed
        self.threads = threads

    # ---- settings and data -------------------------------------------------------------------
    def _check(self) -> None:
        if self.augment not in ("none", "functional"):
            raise UserError(f"augment must be 'none' or 'functional', got {self.augment!r}")
        for name in ("hidden", "heads", "L_layers", "H_cycles", "L_cycles", "halt_max_steps", "epochs",
                     "batch_size", "n_models", "threads"):
            if int(getattr(self, name)) < 1:
                raise UserError(f"{name} must be at least 1, got {getattr(self, name)}")

    def _loss_fn(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        if callable(self.loss):
            return self.loss
        from ..plugins import get_plugins

        return get_plugins().losses.create(self.loss, **(self.loss_kwargs or {}))

    def _tokens(self, cells: np.ndarray) -> torch.Tensor:
        arr = effective_ops(cells) if self.effective else cells
        return torch.as_tensor(arr, dtype=torch.long)

    def _build(self) -> RecursiveNet:
        return RecursiveNet(self.hidden, self.heads, self.expansion, self.L_layers, self.H_cycles, self.L_cycles,
                            self.summary_token, self.graph_bias)

    # ---- training ----------------------------------------------------------------------------
    def fit(self, cells, y) -> "ACTPredictor":
        self._check()
        arr = space.as_array(cells)
        y = np.asarray(y, dtype=np.float32)
        if y.shape != (len(arr),):
            raise UserError(f"got {len(arr)} cells but labels of shape {y.shape}")
        if len(arr) < 2:
            raise UserError("ACTPredictor needs at least two training cells")
        prev_threads = torch.get_num_threads()
        torch.set_num_threads(int(self.threads))
        try:
            self.y_mean_ = float(y.mean())
            self.y_scale_ = float(y.std()) or 1.0
            loss_fn = self._loss_fn()
            self.models_ = [self._fit_one(arr, y, loss_fn, self.seed + 1000 * m) for m in range(self.n_models)]
        finally:
            torch.set_num_threads(prev_threads)
        self.n_train_ = len(arr)
        return self

    def _fit_one(self, arr: np.ndarray, y: np.ndarray, loss_fn: Callable, seed: int) -> RecursiveNet:
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        model = self._build()
        decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embed" not in n]
        rest = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embed" not in n)]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": self.weight_decay},
                                 {"params": rest, "weight_decay": 0.0}], lr=self.lr, fused=True)
        n = len(arr)
        batches = math.ceil(n / self.batch_size)
        total = self.epochs * batches * self.halt_max_steps
        warm = max(1, int(self.warmup * total))
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / total))))
        copies = functional_copies(arr) if self.augment == "functional" else None
        all_cells = space.all_cells()
        y_t = torch.from_numpy(y)
        model.train()
        for _ in range(self.epochs):
            if copies is not None:
                pick = np.array([c[rng.integers(len(c))] for c in copies])
                epoch_cells = all_cells[pick]
            else:
                epoch_cells = arr
            tokens = self._tokens(epoch_cells)
            perm = torch.from_numpy(rng.permutation(n))
            for start in range(0, n, self.batch_size):
                idx = perm[start:start + self.batch_size]
                self._train_batch(model, opt, sched, loss_fn, tokens[idx], y_t[idx], rng)
        model.eval()
        return model

    def _train_batch(self, model: RecursiveNet, opt, sched, loss_fn: Callable, tokens: torch.Tensor,
                     target: torch.Tensor, rng: np.random.Generator) -> None:
        """Deep supervision: one optimiser step per ACT step, on the samples not yet halted."""
        x = model.embed(tokens)
        b, t, _ = x.shape
        z_H, z_L = model.init_carry(b, t)
        explore = rng.random(b) < self.halt_exploration
        min_steps = torch.from_numpy(np.where(explore, rng.integers(2, self.halt_max_steps + 1, b), 1)) \
            if self.halt_max_steps > 1 else torch.ones(b, dtype=torch.long)
        active = torch.arange(b)
        for step in range(1, self.halt_max_steps + 1):
            if step > 1:
                x = model.embed(tokens[active])
            z_H, z_L, raw, q = model.step(x, z_H, z_L)
            pred = self.y_mean_ + self.y_scale_ * raw
            tgt = target[active]
            loss = loss_fn(pred, tgt)
            if self.halt_weight > 0:
                good = ((pred.detach() - tgt).abs() < self.halt_tolerance).float()
                loss = loss + self.halt_weight * F.binary_cross_entropy_with_logits(q, good)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if self.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), self.grad_clip, foreach=True)
            opt.step()
            sched.step()
            if step == self.halt_max_steps:
                break
            keep = ~((q.detach() > 0) & (min_steps[active] <= step))
            if not bool(keep.any()):
                break
            active = active[keep]
            z_H, z_L = z_H.detach()[keep], z_L.detach()[keep]

    # ---- prediction --------------------------------------------------------------------------
    @torch.no_grad()
    def _forward(self, model: RecursiveNet, cells: np.ndarray, steps: int | None = None) -> np.ndarray:
        """All ACT steps run at evaluation (no early halting); returns raw outputs per step, (S, n)."""
        steps = steps or self.halt_max_steps
        tokens = self._tokens(cells)
        outs = []
        for start in range(0, len(tokens), 2048):
            x = model.embed(tokens[start:start + 2048])
            z_H, z_L = model.init_carry(x.shape[0], x.shape[1])
            per_step = []
            for _ in range(steps):
                z_H, z_L, raw, _ = model.step(x, z_H, z_L)
                per_step.append(raw)
            outs.append(torch.stack(per_step))
        return (self.y_mean_ + self.y_scale_ * torch.cat(outs, dim=1)).numpy()

    def _expand(self, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Test-time copies: up to `tta` functional copies per cell (the cell itself first)."""
        if self.tta <= 1:
            return arr, np.arange(len(arr))
        all_cells = space.all_cells()
        own = space.ordinals(arr)
        parts, owner = [], []
        for i, (o, c) in enumerate(zip(own, functional_copies(arr))):
            others = c[c != o][: self.tta - 1]
            parts.append(np.concatenate([[o], others]))
            owner.append(np.full(len(others) + 1, i))
        return all_cells[np.concatenate(parts)], np.concatenate(owner)

    def _predict_models(self, cells) -> np.ndarray:
        """(n_models, n) predictions, each averaged over its test-time copies."""
        if not hasattr(self, "models_"):
            raise UserError("ACTPredictor is not fitted: call fit(cells, y) first")
        arr = space.as_array(cells)
        expanded, owner = self._expand(arr)
        counts = np.bincount(owner, minlength=len(arr))
        prev_threads = torch.get_num_threads()
        torch.set_num_threads(int(self.threads))
        try:
            out = []
            for model in self.models_:
                raw = self._forward(model, expanded)[-1]
                out.append(np.bincount(owner, weights=raw, minlength=len(arr)) / counts)
        finally:
            torch.set_num_threads(prev_threads)
        return np.asarray(out, dtype=np.float32)

    def predict(self, cells) -> np.ndarray:
        return self._predict_models(cells).mean(axis=0).astype(np.float32)

    def predict_std(self, cells) -> np.ndarray:
        """Spread of the ensemble members' predictions; needs `n_models >= 2`."""
        if self.n_models < 2:
            raise UserError("predict_std needs an ensemble: set n_models to 2 or more")
        return self._predict_models(cells).std(axis=0).astype(np.float32)

    def predict_steps(self, cells) -> np.ndarray:
        """(halt_max_steps, n) prediction after each ACT step (first model, no test-time copies)."""
        if not hasattr(self, "models_"):
            raise UserError("ACTPredictor is not fitted: call fit(cells, y) first")
        return self._forward(self.models_[0], space.as_array(cells)).astype(np.float32)
