"""The search loop: the protocol (requests, observations), the sealed oracle, the surrogate, the
strategy's view, simulated workers and the runner. See `strategy` for the ask/tell contract."""

from .protocol import COST_MODEL, FIDELITIES, FULL, Observation, PredictionError, Request, StrategyError
from .strategy import Strategy
from .view import SearchView, SpaceView

__all__ = ["COST_MODEL", "FIDELITIES", "FULL", "Observation", "PredictionError", "Request", "SearchView", "SpaceView",
           "Strategy", "StrategyError"]
