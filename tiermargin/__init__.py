"""tiermargin: how derivatives exchanges manage leverage risk, runnable and tested.

The core layers import only numpy; matplotlib and ipywidgets are imported by the ``plots`` and
``widgets`` modules, on demand.

>>> import tiermargin as tm
>>> table = tm.load_table("binance-usdm-btcusdt-2021")
>>> pos = tm.IsolatedPosition.open(table, "long", qty=1, entry=60_000, leverage=20)
>>> print(pos.liquidation_price())
57,236.18 (tier 2)
"""

from .adl import deleverage
from .contracts import Contract
from .isolated import (
    IsolatedPosition,
    LiquidationPrice,
    MarginRatios,
    bankruptcy_price,
    liquidation_price,
    liquidation_price_in_tier,
    requirement,
)
from .riskfund import RiskFund
from .tiers import TierTable, load_table, maintenance_amounts, table_ids, table_info

__all__ = [
    "Contract",
    "IsolatedPosition",
    "LiquidationPrice",
    "MarginRatios",
    "RiskFund",
    "TierTable",
    "bankruptcy_price",
    "deleverage",
    "liquidation_price",
    "liquidation_price_in_tier",
    "load_table",
    "maintenance_amounts",
    "requirement",
    "table_ids",
    "table_info",
]

__version__ = "0.1.0"
