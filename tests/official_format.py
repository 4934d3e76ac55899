"""Builds small benchmark files in the official NAS-Bench-201 format (the dict that
`NASBench201API` loads), with values taken from our table so that an import can be checked against it."""

from __future__ import annotations

import pandas as pd

# official dataset name -> (our dataset, {official set name: our column suffix})
_LAYOUT = {
    "cifar10-valid": ("cifar10", {"x-valid": "valid"}),
    "cifar10": ("cifar10", {"ori-test": "test"}),
    "cifar100": ("cifar100", {"x-valid": "valid", "x-test": "test"}),
    "ImageNet16-120": ("imagenet16", {"x-valid": "valid", "x-test": "test"}),
}


def _trial(row: pd.Series, dataset: str, sets: dict[str, str], suffix: str, seed: int) -> dict:
    acc = {f"{name}@0": float(row[f"{dataset}_{col}{suffix}"]) for name, col in sets.items()}
    return {
        "name": dataset, "net_state_dict": None, "train_acc1es": {0: 99.0}, "train_acc5es": None,
        "train_losses": {0: 0.1}, "train_times": {0: float(row[f"{dataset}_train_seconds"])},
        "arch_config": {"arch_str": row["arch"]}, "params": float(row[f"{dataset}_params_m"]), "flop": 1.0,
        "seed": seed, "epochs": 1, "latency": None, "eval_names": list(sets), "eval_acc1es": acc,
        "eval_times": {}, "eval_losses": {k: 0.1 for k in acc},
    }


def _arch_results(row: pd.Series, index: int, suffix: str) -> dict:
    all_results, dataset_seed = {}, {}
    for official, (dataset, sets) in _LAYOUT.items():
        seeds = list(range(int(row[f"{dataset}_seeds"])))
        dataset_seed[official] = seeds
        for seed in seeds:
            all_results[(official, seed)] = _trial(row, dataset, sets, suffix, seed)
    return {"arch_index": index, "arch_str": row["arch"], "all_results": all_results,
            "dataset_seed": dataset_seed, "clear_net_done": True}


def official_dict(df: pd.DataFrame) -> dict:
    """The official benchmark dict for the rows of `df` (in their order)."""
    rows = [r for _, r in df.iterrows()]
    return {
        "meta_archs": [r["arch"] for r in rows],
        "arch2infos": {i: {"full": _arch_results(r, i, ""), "less": _arch_results(r, i, "_12ep")} for i, r in enumerate(rows)},
        "evaluated_indexes": list(range(len(rows))),
    }
