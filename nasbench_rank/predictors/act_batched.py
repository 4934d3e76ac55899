"""K copies of the ACT network trained as one computation: every parameter gains a leading model
dimension, every linear map is one batched matrix product over the K models, and one optimiser step
updates all of them. Each copy keeps its own initial weights, training cells, data order, label
scaling and loss randomness, so the K results equal K separate fits (`ACTPredictor._train`) up to
floating-point rounding (the batched products sum in another order).

The math is `act.RecursiveNet`'s, written over stacked weights: post-norm blocks (attention with the
per-relation bias, SwiGLU, RMSNorm after each residual), `H_cycles` cycles of `L_cycles` z_L updates
and one z_H update with gradients through the last cycle, the summary token read by the regression
head. This path covers one ACT step per batch (`halt_max_steps=1`, what the presets run), relations
shared by every element, no EMA; `supports` says whether a setting qualifies.

Parameters live in two flat tensors (weight-decayed matrices, the rest; `_Stack`), so that fused
AdamW (elementwise: each model's update is its own) steps two tensors whatever K is.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["rng_state", "supports", "train_stacked"]


def supports(est, model) -> bool:
    """Whether the stacked path computes what `ACTPredictor._train` computes for these settings."""
    return (int(est.halt_max_steps) == 1 and float(est.ema) == 0.0 and model.relations is not None
            and model.summary_token)


def _groups(model: nn.Module) -> tuple[list[tuple[str, nn.Parameter]], list[tuple[str, nn.Parameter]]]:
    """(decayed, rest) named parameters in `_train`'s order: matrices outside the embeddings decay."""
    named = list(model.named_parameters())
    decay = [(n, p) for n, p in named if p.ndim >= 2 and "embed" not in n]
    rest = [(n, p) for n, p in named if not (p.ndim >= 2 and "embed" not in n)]
    return decay, rest


class _Stack:
    """Two flat tensors (weight-decayed matrices, the rest) holding K models' parameters and their
    gradients, parameter by parameter, each parameter's K copies one contiguous (K, *shape) block;
    `views[name]` is a leaf whose data and gradient are views of them, so that autograd accumulates
    into the flat gradients in place and the optimiser steps two tensors whatever K is."""

    def __init__(self, models: Sequence[nn.Module]):
        decay, rest = _groups(models[0])
        K = len(models)
        device = models[0].z_H0.device
        self.flat: list[torch.Tensor] = []
        self.views: dict[str, torch.Tensor] = {}
        named = [dict(m.named_parameters()) for m in models]
        for group in (decay, rest):
            blocks = [torch.stack([params[n].detach() for params in named]).reshape(-1) for n, _ in group]
            flat = nn.Parameter(torch.cat(blocks) if blocks else torch.zeros(0, device=device))
            flat.grad = torch.zeros_like(flat)
            offset = 0
            for n, p in group:
                k = K * p.numel()
                view = nn.Parameter(torch.empty(0, device=device))
                view.data = flat.data[offset:offset + k].view(K, *p.shape)
                view.grad = flat.grad[offset:offset + k].view(K, *p.shape)
                self.views[n] = view
                offset += k
            self.flat.append(flat)

    def write_back(self, models: Sequence[nn.Module]) -> None:
        with torch.no_grad():
            for i, m in enumerate(models):
                for n, p in m.named_parameters():
                    p.copy_(self.views[n][i])


def _rms(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """RMSNorm over the last dimension with a per-model weight (K, h) on x (K, N, h)."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight.unsqueeze(1)


class _Attention(torch.autograd.Function):
    """softmax(q k^T * scale + bias) v over a handful of tokens, with its backward written out: one
    autograd node instead of a dozen. q (N, Tq, heads, d), k and v (N, T, heads, d), bias
    (M, heads, Tq, T) shared by consecutive groups of N / M rows (the models); out (N, Tq, heads, d)."""

    @staticmethod
    def forward(ctx, q, k, v, bias, scale):
        N, Tq, H, _ = q.shape
        T, M = k.shape[1], bias.shape[0]
        s = torch.einsum("nqhd,nkhd->nhqk", q, k) * scale
        p = (s.view(M, N // M, H, Tq, T) + bias.unsqueeze(1)).view(N, H, Tq, T).softmax(-1)
        ctx.save_for_backward(q, k, v, p)
        ctx.scale, ctx.M = scale, M
        return torch.einsum("nhqk,nkhd->nqhd", p, v)

    @staticmethod
    def backward(ctx, grad):
        q, k, v, p = ctx.saved_tensors
        N, Tq, H, _ = q.shape
        dv = torch.einsum("nhqk,nqhd->nkhd", p, grad)
        dp = torch.einsum("nqhd,nkhd->nhqk", grad, v)
        ds = p * (dp - (dp * p).sum(-1, keepdim=True))
        dbias = ds.view(ctx.M, N // ctx.M, H, Tq, k.shape[1]).sum(1)
        ds = ds * ctx.scale
        dq = torch.einsum("nhqk,nkhd->nqhd", ds, k)
        dk = torch.einsum("nhqk,nqhd->nkhd", ds, q)
        return dq, dk, dv, dbias, None


def _block(P: dict, i: int, x: torch.Tensor, bias: torch.Tensor | None, heads: int, eps: float,
           first_only: bool) -> torch.Tensor:
    """`act.Block` over K models: x (K, B, T, h) -> (K, B, T, h), or (K, B, 1, h) with `first_only`."""
    K, B, T, h = x.shape
    d = h // heads
    pre = f"blocks.{i}."
    wqkv = P[pre + "qkv.weight"]  # (K, 3h, h)
    flat = x.reshape(K, B * T, h)
    if first_only:
        q = torch.bmm(x[:, :, 0], wqkv[:, :h].mT).view(K, B, 1, heads, d)
        k, v = torch.bmm(flat, wqkv[:, h:].mT).view(K, B, T, 2, heads, d).unbind(3)
        bias = None if bias is None else bias[..., :1, :]
        x = x[:, :, :1]
    else:
        q, k, v = torch.bmm(flat, wqkv.mT).view(K, B, T, 3, heads, d).unbind(3)
    Tq = x.shape[2]
    if bias is None:
        bias = torch.zeros((K, heads, Tq, T), dtype=x.dtype, device=x.device)
    a = _Attention.apply(q.reshape(K * B, Tq, heads, d), k.reshape(K * B, T, heads, d),
                         v.reshape(K * B, T, heads, d), bias, 1.0 / math.sqrt(d))  # (K * B, query, head, d)
    x = x.reshape(K, B * Tq, h)
    x = _rms(x + torch.bmm(a.reshape(K, B * Tq, h), P[pre + "out.weight"].mT), P[pre + "norm1.weight"], eps)
    gate, up = torch.bmm(x, P[pre + "gate_up.weight"].mT).chunk(2, dim=-1)
    x = _rms(x + torch.bmm(F.silu(gate) * up, P[pre + "down.weight"].mT), P[pre + "norm2.weight"], eps)
    return x.view(K, B, Tq, h)


def _net(P: dict, z: torch.Tensor, biases: list, heads: int, eps: float, first_only: bool = False) -> torch.Tensor:
    last = len(biases) - 1
    for i, bias in enumerate(biases):
        z = _block(P, i, z, bias, heads, eps, first_only and i == last)
    return z


def _forward(P: dict, buffers: dict, model, tokens: torch.Tensor) -> torch.Tensor:
    """Raw predictions (K, B) of one ACT step from the initial carry; tokens (K, B, T) without the
    summary token (it is put first here)."""
    K, B, _ = tokens.shape
    V = P["op_embed.weight"].shape[1]
    h = model.hidden
    lead = torch.full((K, B, 1), model.summary_id, dtype=tokens.dtype, device=tokens.device)
    tokens = torch.cat([lead, tokens], dim=2)
    offset = (torch.arange(K, device=tokens.device) * V).view(K, 1, 1)
    emb = F.embedding(tokens + offset, P["op_embed.weight"].reshape(K * V, h))  # (K, B, T, h)
    x = (emb + P["pos_embed"].unsqueeze(1)) * model.scale
    T = x.shape[2]
    if model.rel_bias is not None:  # (K, L, R, heads) -> per layer (K, heads, T, T)
        rb = P["rel_bias"][:, :, buffers["relations"]]  # (K, L, T, T, heads)
        biases = list(rb.permute(1, 0, 4, 2, 3).unbind(0))
    else:
        biases = [None] * len(model.blocks)
    heads = model.blocks[0].heads
    eps = torch.finfo(x.dtype).eps if model.blocks[0].norm1.eps is None else model.blocks[0].norm1.eps
    shape = (K, B, T, h)
    z_H = buffers["z_H0"].view(K, 1, 1, h).expand(shape)
    z_L = buffers["z_L0"].view(K, 1, 1, h).expand(shape)
    with torch.no_grad():
        for _ in range(model.H_cycles - 1):
            for _ in range(model.L_cycles):
                z_L = _net(P, z_L + z_H + x, biases, heads, eps)
            z_H = _net(P, z_H + z_L, biases, heads, eps)
    for _ in range(model.L_cycles):
        z_L = _net(P, z_L + z_H + x, biases, heads, eps)
    z_H = _net(P, z_H + z_L, biases, heads, eps, first_only=True)
    read = z_H[:, :, 0]  # (K, B, h)
    return torch.baddbmm(P["reg_head.bias"].unsqueeze(1), read, P["reg_head.weight"].mT).squeeze(-1)


def train_stacked(models: Sequence[nn.Module], tokens_per_epoch: Callable[[int], tuple[torch.Tensor, torch.Tensor]],
                  n: int, epochs: int, batch_size: int, lrs: list[float], loss_fn: Callable, y_mean: Sequence[float],
                  y_scale: Sequence[float], torch_states: list[torch.Tensor], weight_decay: float, grad_clip: float,
                  lr: float, progress: Callable[[int], None] | None = None) -> None:
    """Train `models` (K RecursiveNets, one device) in place, together.

    `tokens_per_epoch(e)` returns epoch e's (tokens (K, n, T) long, targets (K, n) float32), each
    model's cells in its own shuffled order. `lrs` holds one learning rate per optimiser step.
    `torch_states[k]` is the random state model k's loss draws from (`rng_state`; advanced in place),
    as if it trained alone after `torch.manual_seed` and building its network. `progress(e)` is called after
    each epoch."""
    K = len(models)
    device = models[0].z_H0.device
    stack = _Stack(models)
    buffers = {"relations": models[0].relations,
               "z_H0": torch.stack([m.z_H0 for m in models]), "z_L0": torch.stack([m.z_L0 for m in models])}
    opt = torch.optim.AdamW([{"params": [stack.flat[0]], "weight_decay": weight_decay},
                             {"params": [stack.flat[1]], "weight_decay": 0.0}], lr=lr, fused=True)
    mean = torch.tensor(list(y_mean), dtype=torch.float32, device=device).view(K, 1)
    scale = torch.tensor(list(y_scale), dtype=torch.float32, device=device).view(K, 1)
    rng_before = _rng_state(device)
    lr_iter = iter(lrs)
    for m in models:
        m.train()
    try:
        for epoch in range(epochs):
            tokens, target = tokens_per_epoch(epoch)
            for start in range(0, n, batch_size):
                tok, tgt = tokens[:, start:start + batch_size], target[:, start:start + batch_size]
                raw = _forward(stack.views, buffers, models[0], tok)
                pred = mean + scale * raw
                total = 0.0
                for k in range(K):  # each model's loss draws from its own random state
                    _set_rng_state(device, torch_states[k])
                    total = total + loss_fn(pred[k], tgt[k])
                    torch_states[k] = _rng_state(device)
                for flat in stack.flat:
                    flat.grad.zero_()
                total.backward()
                if grad_clip:
                    _clip_per_model(list(stack.views.values()), float(grad_clip))
                step_lr = next(lr_iter)
                for group in opt.param_groups:
                    group["lr"] = step_lr
                opt.step()
            if progress is not None:
                progress(epoch)
    finally:
        _set_rng_state(device, rng_before)
    stack.write_back(models)
    for m in models:
        m.eval()


def rng_state(device: torch.device) -> tuple:
    """The random state a loss on `device` draws from: the CPU's, and the device's on CUDA."""
    return _rng_state(device)


def _rng_state(device: torch.device) -> tuple:
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), cuda


def _set_rng_state(device: torch.device, state: tuple) -> None:
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state(state[1], device)


def _clip_per_model(views: Sequence[torch.Tensor], max_norm: float) -> None:
    """`clip_grad_norm_` applied to each model alone: the total norm of its gradients (row k of
    every (K, ...) parameter)."""
    K = views[0].shape[0]
    norms = torch.stack([torch.linalg.vector_norm(v.grad.reshape(K, -1), dim=1) for v in views])  # (params, K)
    coef = torch.clamp(max_norm / (torch.linalg.vector_norm(norms, dim=0) + 1e-6), max=1.0)
    for v in views:
        v.grad.mul_(coef.view(K, *([1] * (v.ndim - 1))))
