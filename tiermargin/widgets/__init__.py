"""Interactive explorers for the lessons (ipywidgets + matplotlib; imported on demand).

Use ``%matplotlib widget`` in a notebook for figures that update in place; under other backends
the explorer re-renders its figure image on each change.
"""

from .base import Explorer
from .calculator import CalculatorExplorer  # noqa: F401 — no figure: kept out of __all__ (the figure-fallback tests)
from .cascade import CascadeExplorer
from .cross import CrossExplorer
from .isolated import IsolatedExplorer
from .liquidation import LiquidationExplorer
from .markprice import MarkPriceExplorer
from .riskfund import RiskFundExplorer
from .tiers import TierExplorer

__all__ = ["CascadeExplorer", "CrossExplorer", "Explorer", "IsolatedExplorer", "LiquidationExplorer",
           "MarkPriceExplorer", "RiskFundExplorer", "TierExplorer"]
