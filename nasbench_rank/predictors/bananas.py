"""BANANAS's predictor (White, Neiswanger & Savani, AAAI 2021): an ensemble of MLPs on the path
encoding, each trained from its own seed; the ensemble's spread is the predictive std."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch import nn

from . import features
from ..errors import NonFiniteError, UserError
from .threads import torch_threads


def train_regressor(net: nn.Module, X: torch.Tensor, y: torch.Tensor, *, epochs: int, batch_size: int, lr: float,
                    weight_decay: float, loss: str, seed: int) -> list[float]:
    """Adam with a cosine schedule on standardised labels; returns the mean loss per epoch and stops
    with NonFiniteError at the first NaN or infinite loss. `X` may be a tuple of tensors."""
    generator = torch.Generator().manual_seed(seed)
    inputs = X if isinstance(X, tuple) else (X,)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * -(-len(y) // batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    loss_fn = nn.L1Loss() if loss == "l1" else nn.MSELoss()
    history = []
    for epoch in range(epochs):
        order = torch.randperm(len(y), generator=generator)
        total = 0.0
        for start in range(0, len(y), batch_size):
            batch = order[start:start + batch_size]
            value = loss_fn(net(*(x[batch] for x in inputs)), y[batch])
            if not torch.isfinite(value):
                raise NonFiniteError(f"training loss became {value.item()} at epoch {epoch}")
            opt.zero_grad()
            value.backward()
            opt.step()
            schedule.step()
            total += value.item() * len(batch)
        history.append(total / len(y))
    return history


class BananasPredictor(BaseEstimator):
    """``n_models`` ReLU MLPs (``layers`` x ``hidden``) on the path encoding, L1 loss as in the
    paper, labels standardised; prediction is the members' mean, ``predict_std`` their std.

    ``space`` (None: NAS-Bench-201) is the space of the elements. The encoding is
    `features.paths_or_one_hot`: NB201's `live_paths`, the generic path encoding of `space.dag`
    elsewhere, and the space's one-hot in a space without a DAG (e.g. fcnet).
    """

    def __init__(self, n_models: int = 5, hidden: int = 64, layers: int = 3, epochs: int = 100,
                 batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 0.0, loss: str = "l1",
                 seed: int = 0, threads: int = 1, space=None):
        self.n_models = n_models
        self.hidden = hidden
        self.layers = layers
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.loss = loss
        self.seed = seed
        self.threads = threads
        self.space = space

    def _encode(self, cells) -> np.ndarray:
        from ..spaces import resolve_space

        return features.paths_or_one_hot(resolve_space(self.space), cells)

    def _network(self, width: int) -> nn.Module:
        blocks: list[nn.Module] = []
        for _ in range(self.layers):
            blocks += [nn.Linear(width, self.hidden), nn.ReLU()]
            width = self.hidden
        return nn.Sequential(*blocks, nn.Linear(width, 1), nn.Flatten(0))

    def fit(self, cells, y) -> "BananasPredictor":
        if self.n_models < 1 or self.epochs < 1 or self.batch_size < 1 or self.loss not in ("l1", "mse"):
            raise UserError("bananas needs n_models, epochs, batch_size >= 1 and loss 'l1' or 'mse'")
        X = torch.from_numpy(self._encode(cells))
        y = np.asarray(y, dtype=np.float32)
        self.mean_, self.scale_ = float(y.mean()), float(y.std()) or 1.0
        target = torch.from_numpy((y - self.mean_) / self.scale_)
        with torch_threads(self.threads):
            with torch.random.fork_rng(devices=[]):
                self.members_, self.loss_history_ = [], []
                for m in range(self.n_models):
                    torch.manual_seed(self.seed * 1000 + m)
                    net = self._network(X.shape[1])
                    self.loss_history_.append(train_regressor(
                        net, X, target, epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                        weight_decay=self.weight_decay, loss=self.loss, seed=self.seed * 1000 + m))
                    self.members_.append(net.eval())
        self.loss_history_ = np.asarray(self.loss_history_, dtype=np.float32).mean(axis=0)
        return self

    def _member_predictions(self, cells) -> np.ndarray:
        X = torch.from_numpy(self._encode(cells))
        with torch.no_grad():
            raw = torch.stack([net(X) for net in self.members_]).numpy()
        return raw * self.scale_ + self.mean_

    def predict(self, cells) -> np.ndarray:
        return self._member_predictions(cells).mean(axis=0).astype(np.float32)

    def predict_std(self, cells) -> np.ndarray:
        return self._member_predictions(cells).std(axis=0).astype(np.float32)
