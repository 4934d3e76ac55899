"""A tiny recursive reasoning transformer with adaptive computation time (ACT) that regresses a
cell's accuracy from one token per edge (any space: the tokens, relations, canonical form and
equivalence classes of its `space` setting, see `act_cells`; per-element relations give a per-element
attention bias).

The cell is read as six edge tokens (op embedding + edge-position embedding, scaled by sqrt(hidden)),
optionally after a summary token that the heads read. One shared stack of post-norm blocks ("the net")
is applied recursively to two latent states: z_L (reasoning) and z_H (answer). Each ACT step runs
`H_cycles` cycles of `L_cycles` z_L updates and one z_H update, with gradients only through the last
cycle; the (z_H, z_L) carry is detached between steps, every step is supervised, and a halting head
learns whether the current answer is already within `halt_tolerance` of the label.

Two things carry the DAG into a model that otherwise only sees a bag of edges: a learned attention
bias per pair relation of edges (`act_cells.edge_relations`), and an effective-op view that turns dead
edges into `none`. `augment="functional"` replaces each training cell, every epoch, by a random cell
that computes the same function (`space.functional_key`), and `tta` averages predictions over up to
`tta` distinct forms of the cell's class; cells whose forms coincide are computed once.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UserError
from ..spaces import resolve_space
from .batched import fit_progress
from .losses import given_loss
from .act_cells import effective_ops, functional_copies, n_relations, space_index, with_summary
from .threads import torch_threads

__all__ = ["ACTPredictor", "RecursiveNet", "effective_ops", "functional_copies", "resolve_device"]

PREDICT_CHUNK = 256  # cells per forward pass at prediction: small chunks stay in cache


def resolve_device(device: str | None) -> torch.device:
    """'auto' (or None): CUDA when available, else CPU; otherwise the named torch device."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise UserError(f"unknown device {device!r}: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {device!r} asked for, but torch sees no CUDA device here")
    return dev


def _schedule(lr: float, total: int, warmup: float) -> list[float]:
    """One learning rate per optimiser step (and one spare): linear warm-up over `warmup` of the
    `total` steps, then cosine to zero."""
    warm = max(1, int(warmup * total))
    s = np.arange(total + 1, dtype=np.float64)
    return (lr * np.minimum(1.0, (s + 1) / warm) * 0.5 * (1 + np.cos(np.pi * np.minimum(1.0, s / total)))).tolist()


def _flatten(params: list[nn.Parameter]) -> nn.Parameter:
    """One flat parameter holding `params`' values, each of them becoming a view of it, with a flat
    gradient whose views are their gradients (autograd accumulates into an existing gradient in place)."""
    device = params[0].device if params else torch.device("cpu")
    flat = nn.Parameter(torch.cat([p.detach().reshape(-1) for p in params]) if params
                        else torch.zeros(0, device=device))
    flat.grad = torch.zeros_like(flat)
    offset = 0
    for p in params:
        k = p.numel()
        p.data = flat.data[offset:offset + k].view_as(p)
        p.grad = flat.grad[offset:offset + k].view_as(p)
        offset += k
    return flat


def _unflatten(model: nn.Module) -> None:
    """Each parameter its own storage again (after `_flatten`), gradients dropped."""
    for p in model.parameters():
        p.data = p.data.clone()
        p.grad = None


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

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None, first_only: bool = False) -> torch.Tensor:
        """(b, t, h) -> (b, t, h); with `first_only`, only the first token's output, (b, 1, h)."""
        b, t, h = x.shape
        heads, d = self.heads, h // self.heads
        if first_only:  # every token is a key and value, only the first a query
            weight = self.qkv.weight
            q = F.linear(x[:, :1], weight[:h]).view(b, 1, heads, d)
            k, v = F.linear(x, weight[h:]).view(b, t, 2, heads, d).unbind(2)
            bias = None if bias is None else bias[..., :1, :]  # (heads, 1, t) or per element (b, heads, 1, t)
            x = x[:, :1]
        else:
            q, k, v = self.qkv(x).view(b, t, 3, heads, d).unbind(2)
        # Attention over a handful of tokens, scores as (b, query, key, head). Training broadcasts: on
        # the CPU its backward is cheaper than that of batched matrix products over b * heads tiny
        # matrices; without gradients, einsum's products are the cheaper (measured, one thread).
        if torch.is_grad_enabled():
            scores = (q.unsqueeze(2) * k.unsqueeze(1)).sum(-1) * (1.0 / math.sqrt(d))
        else:
            scores = torch.einsum("bqhd,bkhd->bqkh", q, k) * (1.0 / math.sqrt(d))
        if bias is not None:  # (heads, query, key), or per element (b, heads, query, key)
            scores = scores + bias.movedim(-3, -1)
        if torch.is_grad_enabled():
            a = (scores.softmax(dim=2).unsqueeze(-1) * v.unsqueeze(1)).sum(2)  # (b, query, head, d)
        else:
            a = torch.einsum("bqkh,bkhd->bqhd", scores.softmax(dim=2), v)
        x = self.norm1(x + self.out(a.reshape(b, x.shape[1], h)))
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.norm2(x + self.down(F.silu(gate) * up))


class RecursiveNet(nn.Module):
    """Embeddings, the shared block stack, the recursion and the two heads."""

    def __init__(self, hidden: int, heads: int, expansion: float, L_layers: int, H_cycles: int, L_cycles: int,
                 summary_token: bool, graph_bias: bool, space=None):
        super().__init__()
        if hidden % heads:
            raise UserError(f"hidden ({hidden}) must be a multiple of heads ({heads})")
        self.hidden, self.H_cycles, self.L_cycles = hidden, H_cycles, L_cycles
        self.summary_token = summary_token
        self.scale = math.sqrt(hidden)
        sp = resolve_space(space)
        index = space_index(sp)
        self.n_space_tokens, self.n_space_relations = int(sp.n_tokens), int(sp.n_relations)
        self.summary_id = int(sp.vocab_size)
        n_tokens = self.n_space_tokens + int(summary_token)
        self.op_embed = nn.Embedding(self.summary_id + 1, hidden)  # last index: the summary token
        nn.init.normal_(self.op_embed.weight, std=1.0 / self.scale)  # unit scale after the sqrt(hidden) factor
        self.pos_embed = nn.Parameter(torch.randn(n_tokens, hidden) / self.scale)
        self.blocks = nn.ModuleList(Block(hidden, heads, expansion) for _ in range(L_layers))
        self.rel_bias = nn.Parameter(torch.zeros(L_layers, n_relations(sp), heads)) if graph_bias else None
        # Relations shared by every element: one (T, T) buffer. Relations that vary by element
        # (None here) arrive with each batch's tokens (`act_cells.SpaceIndex`), and `embed` keeps them.
        rel = index.relations
        if rel is not None and summary_token:
            rel = with_summary(rel, self.n_space_relations)
        self.register_buffer("relations", rel, persistent=True)
        self._batch_relations: torch.Tensor | None = None
        self.register_buffer("z_H0", torch.randn(hidden) / self.scale)
        self.register_buffer("z_L0", torch.randn(hidden) / self.scale)
        self.reg_head = nn.Linear(hidden, 1)
        self.halt_head = nn.Linear(hidden, 1)
        nn.init.zeros_(self.reg_head.weight)
        nn.init.zeros_(self.reg_head.bias)
        nn.init.zeros_(self.halt_head.weight)
        nn.init.constant_(self.halt_head.bias, -3.0)  # start by not halting

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token embeddings; where relations vary by element, `tokens` rows also carry each element's
        flattened relations, which are kept for the attention biases of this batch (`biases`)."""
        if self.relations is None:
            t = self.n_space_tokens
            rel = tokens[:, t:].reshape(tokens.shape[0], t, t)
            self._batch_relations = with_summary(rel, self.n_space_relations) if self.summary_token else rel
            tokens = tokens[:, :t]
        if self.summary_token:
            lead = torch.full((tokens.shape[0], 1), self.summary_id, dtype=tokens.dtype, device=tokens.device)
            tokens = torch.cat([lead, tokens], dim=1)
        return (self.op_embed(tokens) + self.pos_embed) * self.scale

    def biases(self) -> "list[torch.Tensor | None] | _BatchBiases":
        """Per layer (heads, T, T) additive attention bias from the relations, in one gather; where
        relations vary by element, per layer (B, heads, T, T) for the batch last given to `embed`
        (read when the layers run)."""
        if self.rel_bias is None:
            return [None] * len(self.blocks)
        if self.relations is None:
            return _BatchBiases(self)
        return list(self.rel_bias[:, self.relations].permute(0, 3, 1, 2).unbind(0))

    def net(self, z: torch.Tensor, biases: list[torch.Tensor | None], first_only: bool = False) -> torch.Tensor:
        """The block stack; with `first_only` the last block computes only the first token's output."""
        last = len(self.blocks) - 1
        for i, (block, bias) in enumerate(zip(self.blocks, biases)):
            z = block(z, bias, first_only and i == last)
        return z

    def init_carry(self, batch: int, tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (batch, tokens, self.hidden)
        return self.z_H0.expand(shape), self.z_L0.expand(shape)

    def step(self, x: torch.Tensor, z_H: torch.Tensor, z_L: torch.Tensor, biases: list | None = None,
             last: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One ACT step: the recursion, then (z_H, z_L, raw prediction, halt logit). With `last` (no
        carry is needed after this step) and a summary token, the final block computes the summary
        token alone, which is all the heads read; the returned z_H then holds that token only."""
        biases = self.biases() if biases is None else biases
        with torch.no_grad():
            for _ in range(self.H_cycles - 1):
                for _ in range(self.L_cycles):
                    z_L = self.net(z_L + z_H + x, biases)
                z_H = self.net(z_H + z_L, biases)
        for _ in range(self.L_cycles):
            z_L = self.net(z_L + z_H + x, biases)
        z_H = self.net(z_H + z_L, biases, first_only=last and self.summary_token)
        read = z_H[:, 0] if self.summary_token else z_H.mean(dim=1)
        # The halting head reads a detached state: accuracy losses are ~1e-3 while the halting
        # cross-entropy is ~0.3, and letting it shape the shared net collapses the regression.
        return z_H, z_L, self.reg_head(read).squeeze(-1), self.halt_head(read.detach()).squeeze(-1)


class _BatchBiases:
    """The per-layer attention biases of the batch `model.embed` last saw, gathered on first use per
    batch: a sequence a step can hold before the batch is embedded (as prediction does)."""

    def __init__(self, model: RecursiveNet):
        self.model = model
        self._for: torch.Tensor | None = None
        self._biases: list[torch.Tensor] = []

    def __iter__(self):
        rel = self.model._batch_relations
        if rel is None:
            raise RuntimeError("embed a batch before reading its attention biases")
        if rel is not self._for:
            self._for = rel
            self._biases = list(self.model.rel_bias[:, rel].permute(0, 1, 4, 2, 3).unbind(0))
        return iter(self._biases)

    def __len__(self) -> int:
        return len(self.model.blocks)


class ACTPredictor:
    """Recursive transformer with deep supervision and learned halting; any loss plugin.

    Every setting is a keyword argument. `n_models > 1` trains a seed ensemble (mean prediction,
    `predict_std` its spread). `partial_fit` continues from the fitted weights for `partial_epochs`
    epochs on a grown training set. `device="auto"` trains on CUDA when torch sees one, else on the
    CPU. `ema > 0` evaluates an exponential moving average of the weights (decay `ema`).
    `min_steps` raises the epochs of a fit on few cells until it makes at least that many
    optimiser steps (0: `epochs` alone decides). `pretrain_epochs > 0` first trains each member's
    network without labels on every element of the space to regress structural targets
    (`act_pretrain`; at `pretrain_lr`, batches of `pretrain_batch_size`), then fits as usual with fresh
    heads; `n_unlabelled_` says how many elements it read (0 when off). `space` (None: NAS-Bench-201, a name or a Space)
    is the space of the elements given to `fit` and `predict`: tokens from `space.tokens`, the
    attention bias from `space.relations`, the effective view from `space.canonical`, functional
    copies and test-time forms from `space.classes()` (none but the element itself in a space without
    equivalence: `augment` and `tta` then change nothing). `loss` names a loss plugin, whose loss
    object the registry hands over as `loss_fn` when it builds the predictor (by hand: pass `loss_fn`,
    or a loss object as `loss`).
    """

    injected = ("loss_fn",)  # handed over by the registry: not saved, given again when a saved model is loaded

    def __init__(self, loss: str | Callable = "mixed", loss_kwargs: dict | None = None, hidden: int = 64,
                 heads: int = 4, expansion: float = 2.0, L_layers: int = 2, H_cycles: int = 1, L_cycles: int = 1,
                 halt_max_steps: int = 1, halt_exploration: float = 0.1, halt_tolerance: float = 0.005,
                 halt_weight: float = 0.1, summary_token: bool = True, graph_bias: bool = True,
                 effective: bool = True, augment: str = "functional", tta: int = 8, epochs: int = 60,
                 batch_size: int = 32, lr: float = 2e-3, weight_decay: float = 0.01, warmup: float = 0.05,
                 grad_clip: float = 1.0, min_steps: int = 0, ema: float = 0.0, partial_epochs: int = 10,
                 partial_lr: float | None = None, n_models: int = 1, seed: int = 0, threads: int = 1, device: str = "auto",
                 space=None, pretrain_epochs: int = 0, pretrain_lr: float = 2e-3, pretrain_batch_size: int = 128,
                 loss_fn: Callable | None = None):
        self.loss = loss
        self.loss_kwargs = loss_kwargs
        self.loss_fn = loss_fn
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
        self.min_steps = min_steps
        self.ema = ema
        self.partial_epochs = partial_epochs
        self.partial_lr = partial_lr
        self.n_models = n_models
        self.seed = seed
        self.threads = threads
        self.device = device
        self.space = space
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_lr = pretrain_lr
        self.pretrain_batch_size = pretrain_batch_size

    # ---- settings and data -------------------------------------------------------------------
    def _check(self) -> None:
        if self.augment not in ("none", "functional"):
            raise UserError(f"augment must be 'none' or 'functional', got {self.augment!r}")
        for name in ("hidden", "heads", "L_layers", "H_cycles", "L_cycles", "halt_max_steps", "epochs",
                     "batch_size", "n_models", "threads", "partial_epochs"):
            if int(getattr(self, name)) < 1:
                raise UserError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0.0 <= float(self.ema) < 1.0:
            raise UserError(f"ema must be in [0, 1), got {self.ema}")
        resolve_device(self.device)

    def _loss_fn(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        return given_loss(self)

    def _build(self) -> RecursiveNet:
        return RecursiveNet(self.hidden, self.heads, self.expansion, self.L_layers, self.H_cycles, self.L_cycles,
                            self.summary_token, self.graph_bias, resolve_space(self.space))

    def _data(self, cells, y) -> tuple[np.ndarray, np.ndarray]:
        self._check()
        sp = resolve_space(self.space)
        arr = sp.as_array(cells)
        y = np.asarray(y, dtype=np.float32)
        if y.shape != (len(arr),):
            raise UserError(f"got {len(arr)} cells but labels of shape {y.shape}")
        if len(arr) < 2:
            raise UserError("ACTPredictor needs at least two training cells")
        return sp.ordinals(arr), y

    # ---- training ----------------------------------------------------------------------------
    def fit(self, cells, y) -> "ACTPredictor":
        return type(self).fit_many([self], [cells], [y])[0]

    @classmethod
    def fit_many(cls, estimators: "Sequence[ACTPredictor]", cells_list, y_list) -> "list[ACTPredictor]":
        """Fit each estimator on its own cells and labels, as `fit` would, training the networks of all
        of them (and of their ensemble members) together where they can be (`act_batched`): those
        on one device with the same number of training cells, epochs and batch size, one ACT step per
        batch and no EMA. The others, and a network with no partner, train one by one (`_train`).
        Networks trained together predict as if trained alone within about 1e-5 (float32 rounding;
        `tests/test_batched.py`). Returns the estimators, fitted."""
        from . import act_batched

        estimators = list(estimators)
        if not (len(estimators) == len(cells_list) == len(y_list)):
            raise UserError(f"fit_many needs as many cell sets and label sets as estimators, got "
                            f"{len(estimators)}, {len(cells_list)} and {len(y_list)}")
        jobs = []  # (estimator, member, seed, model, ordinals, y, epochs, torch state after building)
        for est, cells, y in zip(estimators, cells_list, y_list):
            ordinals, y = est._data(cells, y)
            est._check_pretrain()
            est.y_mean_ = float(y.mean())
            est.y_scale_ = float(y.std()) or 1.0
            est.n_partial_ = 0
            est.n_unlabelled_ = 0
            est.n_train_ = len(ordinals)
            est.models_ = [None] * int(est.n_models)
            with est._threads():
                device = resolve_device(est.device)
                for m in range(est.n_models):
                    seed = est.seed + 1000 * m
                    torch.manual_seed(seed)
                    model = est._build().to(device)
                    est._pretrain(model, seed)
                    epochs = max(est.epochs, math.ceil(int(est.min_steps) / math.ceil(len(ordinals) / est.batch_size)))
                    jobs.append((est, m, seed, model, ordinals, y, epochs, act_batched.rng_state(device)))
        groups: dict[tuple, list] = {}
        for job in jobs:
            est, model = job[0], job[3]
            if act_batched.supports(est, model):
                key = (est._batch_key(), str(next(model.parameters()).device), len(job[4]), job[6])
            else:
                key = ("one", id(job))
            groups.setdefault(key, []).append(job)
        epochs_total = sum(len(g) * g[0][6] for g in groups.values())  # model-epochs
        with estimators[0]._threads(), fit_progress(epochs_total, "ACT fit", "model-epoch") as bar:
            for key, group in groups.items():
                if key[0] == "one" or len(group) == 1:  # one network: the per-model path, as fast
                    est, m, seed, model, ordinals, y, epochs, state = group[0]
                    act_batched._set_rng_state(next(model.parameters()).device, state)
                    est.models_[m] = est._train(model, ordinals, y, epochs, est.lr, seed)
                    bar.update(epochs)
                else:
                    cls._train_together(group, bar)
        return estimators

    def _batch_key(self) -> str:
        """The settings that must agree for networks to train together (all but seed and n_models)."""
        params = {k: v for k, v in vars(self).items() if not k.endswith("_") and k not in ("seed", "n_models")}
        if getattr(self.loss_fn, "built_for", None) is not None:  # each registry build gets its own loss object
            params["loss_fn"] = repr(self.loss_fn.built_for)
        return repr(sorted((k, v if isinstance(v, (int, float, str, bool, type(None), dict)) else id(v))
                           for k, v in params.items()))

    @staticmethod
    def _train_together(group: list, bar) -> None:
        from .act_batched import train_stacked

        est = group[0][0]
        n, epochs = len(group[0][4]), group[0][6]
        index = space_index(resolve_space(est.space))
        models = [job[3] for job in group]
        device = next(models[0].parameters()).device
        rngs = [np.random.default_rng(job[2]) for job in group]
        y_t = [torch.from_numpy(job[5]) for job in group]

        def tokens_per_epoch(_epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
            tokens, targets = [], []
            for job, rng, y in zip(group, rngs, y_t):
                ordinals = job[4]
                picked = index.sample_copies(ordinals, rng) if est.augment == "functional" else ordinals
                forms = index.effective[picked] if est.effective else picked
                perm = rng.permutation(n)
                tokens.append(index.tokens[forms[perm]])
                targets.append(y[torch.from_numpy(perm)])
            return torch.stack(tokens).to(device), torch.stack(targets).to(device)

        lr = float(est.lr)
        total = epochs * math.ceil(n / est.batch_size)
        train_stacked(models, tokens_per_epoch, n, epochs, int(est.batch_size), _schedule(lr, total, est.warmup),
                      est._loss_fn(), [job[0].y_mean_ for job in group], [job[0].y_scale_ for job in group],
                      [job[7] for job in group], float(est.weight_decay), float(est.grad_clip or 0.0), lr,
                      progress=lambda _e: bar.update(len(group)))
        for job, model in zip(group, models):
            job[0].models_[job[1]] = model

    def _check_pretrain(self) -> None:
        if isinstance(self.pretrain_epochs, bool) or int(self.pretrain_epochs) < 0:
            raise UserError(f"pretrain_epochs must be an integer >= 0, got {self.pretrain_epochs!r}")
        if int(self.pretrain_epochs) and (int(self.pretrain_batch_size) < 1 or not float(self.pretrain_lr) > 0):
            raise UserError(f"pretraining needs pretrain_batch_size >= 1 and pretrain_lr > 0, got "
                            f"{self.pretrain_batch_size!r} and {self.pretrain_lr!r}")
        if int(self.pretrain_epochs):
            from .act_pretrain import pretrain_set

            pretrain_set(resolve_space(self.space), bool(self.effective))  # refuses a space without a DAG

    def _pretrain(self, model: RecursiveNet, seed: int) -> None:
        """Label-free pretraining of `model` in place when `pretrain_epochs > 0` (else nothing)."""
        if not int(self.pretrain_epochs):
            return
        from .act_pretrain import pretrain

        sp = resolve_space(self.space)
        self.n_pretrain_forms_, self.pretrain_loss_ = pretrain(
            model, sp, effective=bool(self.effective), epochs=int(self.pretrain_epochs), lr=float(self.pretrain_lr),
            batch_size=int(self.pretrain_batch_size), steps=int(self.halt_max_steps),
            weight_decay=self.weight_decay, grad_clip=self.grad_clip, warmup=self.warmup, seed=seed)
        self.n_unlabelled_ = int(sp.size)

    def partial_fit(self, cells, y) -> "ACTPredictor":
        """Continue from the current weights on (typically a grown set of) cells for `partial_epochs`
        epochs at `partial_lr` (default: `lr`), with a fresh warm-up and cosine schedule; the label
        scaling of the first fit is kept. Fits from scratch when not fitted yet."""
        if not hasattr(self, "models_"):
            return self.fit(cells, y)
        ordinals, y = self._data(cells, y)
        self.n_partial_ += 1
        lr = self.lr if self.partial_lr is None else self.partial_lr
        with self._threads():
            device = resolve_device(self.device)
            for m, model in enumerate(self.models_):
                seed = self.seed + 1000 * m + 7919 * self.n_partial_
                torch.manual_seed(seed)
                self._train(model.to(device), ordinals, y, self.partial_epochs, lr, seed)
        self.n_train_ = len(ordinals)
        return self

    def _threads(self):
        """torch's thread count set to `threads` for the duration (and restored)."""
        return torch_threads(self.threads)

    def _train(self, model: RecursiveNet, ordinals: np.ndarray, y: np.ndarray, epochs: int, lr: float,
               seed: int) -> RecursiveNet:
        rng = np.random.default_rng(seed)
        device = next(model.parameters()).device
        loss_fn = self._loss_fn()
        decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embed" not in n]
        rest = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embed" not in n)]
        # each group's parameters and gradients live in one flat buffer, so that the optimiser, the
        # clipping and the zeroing each handle two tensors instead of one per parameter
        flat = [_flatten(decay), _flatten(rest)]
        opt = torch.optim.AdamW([{"params": [flat[0]], "weight_decay": self.weight_decay},
                                 {"params": [flat[1]], "weight_decay": 0.0}], lr=lr, fused=True)
        n = len(ordinals)
        total = epochs * math.ceil(n / self.batch_size) * self.halt_max_steps
        # linear warm-up then cosine, one learning rate per optimiser step, written into the optimiser
        # directly (a scheduler object costs a Python call chain per step)
        lrs = iter(_schedule(lr, total, self.warmup))
        ema = None
        if self.ema > 0:
            from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

            ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(float(self.ema)))
        index = space_index(resolve_space(self.space))
        y_t = torch.from_numpy(y).to(device)
        params = flat
        model.train()
        for _ in range(epochs):
            picked = index.sample_copies(ordinals, rng) if self.augment == "functional" else ordinals
            forms = index.effective[picked] if self.effective else picked
            perm = rng.permutation(n)
            # shuffled once per epoch, so that each batch is a slice (a view, no gather)
            tokens = index.tokens[forms[perm]].to(device)
            target = y_t[torch.from_numpy(perm).to(device)]
            for start in range(0, n, self.batch_size):
                self._train_batch(model, opt, lrs, params, loss_fn, tokens[start:start + self.batch_size],
                                  target[start:start + self.batch_size], rng, ema)
        if ema is not None:
            with torch.no_grad():
                for p, q in zip(model.parameters(), ema.module.parameters()):
                    p.copy_(q)
        _unflatten(model)
        model.eval()
        return model

    def _train_batch(self, model: RecursiveNet, opt, lrs, params: list, loss_fn: Callable, tokens: torch.Tensor,
                     target: torch.Tensor, rng: np.random.Generator, ema) -> None:
        """Deep supervision: one optimiser step per ACT step, on the samples not yet halted; `lrs`
        yields each step's learning rate."""
        x = model.embed(tokens)
        b, t, _ = x.shape
        z_H, z_L = model.init_carry(b, t)
        steps = self.halt_max_steps
        if steps > 1:
            explore = rng.random(b) < self.halt_exploration
            min_steps = torch.from_numpy(np.where(explore, rng.integers(2, steps + 1, b), 1)).to(x.device)
        for step in range(1, steps + 1):
            biases = model.biases()
            z_H, z_L, raw, q = model.step(x, z_H, z_L, biases, last=step == steps)
            pred = self.y_mean_ + self.y_scale_ * raw
            loss = loss_fn(pred, target)
            if steps > 1 and self.halt_weight > 0:  # with one step there is nothing to decide
                good = ((pred.detach() - target).abs() < self.halt_tolerance).float()
                loss = loss + self.halt_weight * F.binary_cross_entropy_with_logits(q, good)
            for p in params:  # the flat gradients stay allocated: autograd accumulates into their views
                p.grad.zero_()
            loss.backward()
            if self.grad_clip:
                nn.utils.clip_grad_norm_(params, self.grad_clip, foreach=True)
            lr = next(lrs)
            for group in opt.param_groups:
                group["lr"] = lr
            opt.step()
            if ema is not None:
                ema.update_parameters(model)
            if step == steps:
                break
            keep = ~((q.detach() > 0) & (min_steps <= step))
            if not bool(keep.any()):
                break
            min_steps, target = min_steps[keep], target[keep]
            x = model.embed(tokens[keep])
            tokens = tokens[keep]
            z_H, z_L = z_H.detach()[keep], z_L.detach()[keep]

    # ---- prediction --------------------------------------------------------------------------
    @torch.inference_mode()
    def _forward(self, model: RecursiveNet, tokens: torch.Tensor, steps: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """All ACT steps run at evaluation (no early halting): raw outputs and halt logits per step, (S, n)."""
        steps = steps or self.halt_max_steps
        device = next(model.parameters()).device
        biases = model.biases()
        raw = torch.empty((steps, len(tokens)), device=device)
        halt = torch.empty((steps, len(tokens)), device=device)
        for start in range(0, len(tokens), PREDICT_CHUNK):
            x = model.embed(tokens[start:start + PREDICT_CHUNK].to(device))
            z_H, z_L = model.init_carry(x.shape[0], x.shape[1])
            for s in range(steps):
                z_H, z_L, raw[s, start:start + len(x)], halt[s, start:start + len(x)] = model.step(
                    x, z_H, z_L, biases, last=s == steps - 1)
        return self.y_mean_ + self.y_scale_ * raw.cpu().numpy(), halt.cpu().numpy()

    def _fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise UserError("ACTPredictor is not fitted: call fit(cells, y) first")

    def _predict_models(self, cells) -> np.ndarray:
        """(n_models, n) predictions, each the mean over the cell's test-time forms; every distinct
        form is run once however many cells share it."""
        self._fitted()
        sp = resolve_space(self.space)
        ordinals = sp.ordinals(sp.as_array(cells))
        index = space_index(sp)
        forms, owner = index.tta_forms(ordinals, int(self.tta), bool(self.effective))
        unique, inverse = np.unique(forms, return_inverse=True)
        counts = np.bincount(owner, minlength=len(ordinals))
        tokens = index.tokens[unique]
        out = []
        with self._threads():
            for model in self.models_:
                raw = self._forward(model, tokens)[0][-1]
                out.append(np.bincount(owner, weights=raw[inverse], minlength=len(ordinals)) / counts)
        return np.asarray(out, dtype=np.float32)

    def predict(self, cells) -> np.ndarray:
        return self._predict_models(cells).mean(axis=0).astype(np.float32)

    def predict_std(self, cells) -> np.ndarray:
        """Spread of the ensemble members' predictions; needs `n_models >= 2`."""
        if self.n_models < 2:
            raise UserError("predict_std needs an ensemble: set n_models to 2 or more")
        return self._predict_models(cells).std(axis=0).astype(np.float32)

    def _own_tokens(self, cells) -> torch.Tensor:
        sp = resolve_space(self.space)
        ordinals = sp.ordinals(sp.as_array(cells))
        index = space_index(sp)
        return index.tokens[index.effective[ordinals] if self.effective else ordinals]

    def predict_steps(self, cells) -> np.ndarray:
        """(halt_max_steps, n) prediction after each ACT step (first model, no test-time copies)."""
        self._fitted()
        with self._threads():
            return self._forward(self.models_[0], self._own_tokens(cells))[0].astype(np.float32)

    def halting_steps(self, cells) -> np.ndarray:
        """(n,) the ACT step at which the first model's halting head first says stop (logit > 0), or
        `halt_max_steps` when it never does: the computation each cell would get with halting on."""
        self._fitted()
        with self._threads():
            q = self._forward(self.models_[0], self._own_tokens(cells))[1]
        said = q > 0
        return np.where(said.any(axis=0), said.argmax(axis=0) + 1, q.shape[0]).astype(np.int64)
