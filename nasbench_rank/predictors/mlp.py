"""A torch MLP on the tabular encoding: the neural baseline that isolates what the loss contributes,
since any loss plugin trains the same network."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch  # imported when the predictor is built, never inside a timed fit
from sklearn.base import BaseEstimator

from . import features
from ..errors import UserError
from .losses import given_loss
from .threads import torch_threads


class MLPPredictor(BaseEstimator):
    """ReLU MLP trained with Adam and a cosine learning-rate schedule on accuracy fractions.

    The output bias starts at the mean label, so training starts from the right scale: the rank loss's
    margin is in accuracy units and only means something when predictions are. ``space`` (None:
    NAS-Bench-201) is the space of the elements; the input is `features.tabular` of that space.
    `loss` names a loss plugin, whose loss object the registry hands over as `loss_fn` when it builds
    the predictor (by hand: pass `loss_fn`).
    """

    injected = ("loss_fn",)  # handed over by the registry: not saved, given again when a saved model is loaded

    def __init__(self, loss: str = "mse", loss_kwargs: dict[str, Any] | None = None, hidden: int = 128,
                 layers: int = 2, epochs: int = 200, batch_size: int = 64, lr: float = 1e-3,
                 weight_decay: float = 1e-4, paths: bool = False, seed: int = 0, threads: int = 1, space=None,
                 loss_fn=None):
        self.loss = loss
        self.loss_kwargs = loss_kwargs
        self.loss_fn = loss_fn
        self.hidden = hidden
        self.layers = layers
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.paths = paths
        self.seed = seed
        self.threads = threads
        self.space = space

    def _encode(self, cells) -> np.ndarray:
        from ..spaces import resolve_space

        return features.tabular(resolve_space(self.space), cells, self.paths)

    def _network(self, n_inputs: int):
        import torch.nn as nn

        blocks: list[nn.Module] = []
        width = n_inputs
        for _ in range(self.layers):
            blocks += [nn.Linear(width, self.hidden), nn.ReLU()]
            width = self.hidden
        blocks.append(nn.Linear(width, 1))
        return nn.Sequential(*blocks)

    def fit(self, cells, y) -> "MLPPredictor":
        import torch

        X = self._encode(cells)
        y = np.asarray(y, dtype=np.float32)
        if y.ndim != 1 or len(y) != len(X) or len(y) < 2:
            raise UserError(f"mlp needs at least two cells and one label per cell, got {len(X)} cells and labels of shape {y.shape}")
        if self.epochs < 1 or self.batch_size < 2 or self.threads < 1:
            raise UserError("mlp needs epochs >= 1, batch_size >= 2 and threads >= 1")
        loss_fn = given_loss(self)
        with torch_threads(self.threads):
            with torch.random.fork_rng(devices=[]):  # seeds the loss's pair sampling without touching the caller's rng
                torch.manual_seed(self.seed)
                net = self._network(X.shape[1])
                with torch.no_grad():
                    net[-1].bias.fill_(float(y.mean()))
                opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
                steps_per_epoch = -(-len(y) // self.batch_size)
                schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.epochs * steps_per_epoch)
                xt, yt = torch.from_numpy(X), torch.from_numpy(y)
                history = []
                for _ in range(self.epochs):
                    order = torch.randperm(len(y))
                    total = 0.0
                    for start in range(0, len(y), self.batch_size):
                        batch = order[start:start + self.batch_size]
                        loss = loss_fn(net(xt[batch]).squeeze(1), yt[batch])
                        opt.zero_grad()
                        loss.backward()
                        opt.step()
                        schedule.step()
                        total += loss.detach().item() * len(batch)
                    history.append(total / len(y))
        self.network_ = net.eval()
        self.loss_history_ = np.asarray(history, dtype=np.float32)
        return self

    def predict(self, cells) -> np.ndarray:
        import torch

        X = torch.from_numpy(self._encode(cells))
        with torch_threads(self.threads):
            with torch.no_grad():
                out = self.network_(X).squeeze(1)
        return out.numpy().astype(np.float32)
