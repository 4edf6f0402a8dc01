"""Benchmarks stated by the source articles, and how a KPI value rates against them.

Each benchmark is data (:data:`BENCHMARKS`), with the article it comes from. A value
rates as one of four levels, from worst to best: ``"below"``, ``"average"``,
``"healthy"``, ``"excellent"``. The thresholds are the *least good* value that still
reaches a level, in the KPI's direction:

=================  =========  ==========  ==========  ==========  ======  ==========
KPI                direction  average     healthy     excellent   market  source
=================  =========  ==========  ==========  ==========  ======  ==========
``repeat_rate``    higher     >= 15 %     >= 22 %     >= 30 %     any     article 004
``clv_cac``        higher     >= 2.5      >= 3.0      >= 4.0      eu      article 004
``clv_cac``        higher     >= 3.0      >= 3.0      >= 4.0      us, uk  article 004
``at_risk_share``  lower      <= 28 %     <= 28 %     <= 18 %     any     article 004
=================  =========  ==========  ==========  ==========  ======  ==========

How the article's words became thresholds:

* repeat (return) customer rate: the typical range is 15-30 %, about 22 % is the
  average, 30 % is excellent. Below the range is *below*; inside the range but under
  the average is *average*; at least the average is *healthy*; 30 % or more is
  *excellent*.
* CLV : CAC: 2.5 : 1 is the usual value in Europe (*average*), about 3 : 1 is called
  healthy (US/UK SaaS and digital commerce), 4 : 1 or more is the target (*excellent*).
  In the US/UK market 3 : 1 is the norm itself, so there is no *average* band: under
  3 : 1 rates *below*.
* customers at risk of leaving within a year (lower is better): about 28 % is typical,
  18 % or less is a realistic target (*excellent*). At most the typical share is
  *healthy*; the article gives no range around it, so there is no separate *average*
  band and a larger share rates *below*.

The article also says that acquiring a customer can cost up to five times as much as
keeping one (:data:`ACQUISITION_VS_RETENTION_COST`); that is information, not a rating.

Examples
--------
>>> rate_kpi("repeat_rate", 0.25)
'healthy'
>>> rate_kpi("clv_cac", 2.7), rate_kpi("clv_cac", 2.7, market="us")
('average', 'below')
>>> benchmark_target("at_risk_share")
0.18
>>> round(gap_to_target("repeat_rate", 0.25), 10)
0.05
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal, TypeAlias

import numpy as np
import pandas as pd

from retention_xl.errors import InputError

__all__ = [
    "ACQUISITION_VS_RETENTION_COST",
    "BENCHMARKS",
    "KPI_ALIASES",
    "LEVELS",
    "MARKETS",
    "Benchmark",
    "Fact",
    "benchmark_table",
    "benchmark_target",
    "gap_to_target",
    "rate_kpi",
]

Level: TypeAlias = Literal["below", "average", "healthy", "excellent"]
Direction: TypeAlias = Literal["higher", "lower"]

#: The rating levels from worst to best.
LEVELS: Final[tuple[Level, ...]] = ("below", "average", "healthy", "excellent")
#: Markets with their own thresholds; "uk" rates like "us" (the article groups them).
MARKETS: Final[tuple[str, ...]] = ("eu", "us", "uk")
_MARKET_ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {"eu": "eu", "europe": "eu", "it": "eu", "us": "us", "usa": "us", "uk": "us"}
)
#: Other names accepted for the KPI keys (spaces, ``-``, ``:`` and ``/`` read as ``_``).
KPI_ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "repeat_purchase_rate": "repeat_rate",
        "return_rate": "repeat_rate",
        "repeat_customer_rate": "repeat_rate",
        "tasso_di_riacquisto": "repeat_rate",
        "tasso_di_ritorno": "repeat_rate",
        "clv_cac_ratio": "clv_cac",
        "ltv_cac": "clv_cac",
        "at_risk": "at_risk_share",
        "clienti_a_rischio": "at_risk_share",
    }
)


@dataclass(frozen=True, slots=True)
class Benchmark:
    """One KPI benchmark from the source articles.

    Attributes
    ----------
    kpi
        The KPI key (``"repeat_rate"``, ``"clv_cac"``, ``"at_risk_share"``).
    label
        A short English label (the workbook translates by ``kpi``).
    direction
        ``"higher"`` when a larger value is better, ``"lower"`` otherwise.
    unit
        ``"fraction"`` (format as %) or ``"ratio"`` (format as ``x : 1``).
    thresholds
        Per market (``"eu"``, ``"us"``), the least good value reaching ``average``,
        ``healthy`` and ``excellent``.
    typical
        The typical value the article states (``nan`` if it states none).
    source
        The id of the source article (``"004"``).
    note
        What the article says, in one line.
    """

    kpi: str
    label: str
    direction: Direction
    unit: Literal["fraction", "ratio"]
    thresholds: Mapping[str, Mapping[str, float]]
    typical: float
    source: str
    note: str

    def threshold(self, level: str, market: str = "eu") -> float:
        """The least good value that reaches ``level`` in ``market``."""
        return self.thresholds[_market(market)][_level(level, rated=True)]


@dataclass(frozen=True, slots=True)
class Fact:
    """A number the articles state that is not rated (information for the reader)."""

    key: str
    label: str
    value: float
    unit: str
    source: str
    note: str = field(default="")


def _thresholds(
    eu: tuple[float, float, float], us: tuple[float, float, float] | None = None
) -> Mapping[str, Mapping[str, float]]:
    def one(t: tuple[float, float, float]) -> Mapping[str, float]:
        return MappingProxyType(dict(zip(LEVELS[1:], t, strict=True)))

    return MappingProxyType({"eu": one(eu), "us": one(us if us is not None else eu)})


#: The rated benchmarks of FACTS.md section 2, keyed by KPI.
BENCHMARKS: Final[Mapping[str, Benchmark]] = MappingProxyType(
    {
        "repeat_rate": Benchmark(
            kpi="repeat_rate",
            label="Repeat customer rate",
            direction="higher",
            unit="fraction",
            thresholds=_thresholds((0.15, 0.22, 0.30)),
            typical=0.22,
            source="004",
            note="Digital commerce: typical range 15-30 %, about 22 % is average, "
            "30 % is excellent.",
        ),
        "clv_cac": Benchmark(
            kpi="clv_cac",
            label="CLV : CAC",
            direction="higher",
            unit="ratio",
            thresholds=_thresholds((2.5, 3.0, 4.0), (3.0, 3.0, 4.0)),
            typical=2.5,
            source="004",
            note="About 3:1 is healthy (US/UK SaaS and digital commerce), 2.5:1 is "
            "average in Europe, 4:1 or more is the target.",
        ),
        "at_risk_share": Benchmark(
            kpi="at_risk_share",
            label="Customers at risk of leaving within a year",
            direction="lower",
            unit="fraction",
            thresholds=_thresholds((0.28, 0.28, 0.18)),
            typical=0.28,
            source="004",
            note="E-commerce: about 28 % of customers are at risk within a year; 18 % "
            "or less is a realistic target.",
        ),
    }
)

#: Acquiring a customer can cost up to five times as much as keeping one (article 001).
ACQUISITION_VS_RETENTION_COST: Final = Fact(
    key="acquisition_vs_retention_cost",
    label="Acquisition cost vs retention cost",
    value=5.0,
    unit="multiple",
    source="001",
    note="Acquiring a new customer can cost up to 5 times as much as keeping an existing one.",
)


def _benchmark(kpi: str) -> Benchmark:
    key = None
    if isinstance(kpi, str):
        key = re.sub(r"[\s:/\-]+", "_", kpi.strip().lower()).strip("_")
        key = KPI_ALIASES.get(key, key)
    if key is None or key not in BENCHMARKS:
        raise InputError(
            f"kpi must be one of {sorted(BENCHMARKS)}, got {kpi!r}", argument="kpi_name"
        )
    return BENCHMARKS[key]


def _market(market: str) -> str:
    key = market.strip().lower() if isinstance(market, str) else market
    if not isinstance(key, str) or key not in _MARKET_ALIASES:
        raise InputError(
            f"market must be one of {list(MARKETS)}, got {market!r}", argument="market"
        )
    return _MARKET_ALIASES[key]


def _level(level: str, *, rated: bool) -> str:
    key = level.strip().lower() if isinstance(level, str) else level
    allowed = LEVELS[1:] if rated else LEVELS
    if not isinstance(key, str) or key not in allowed:
        raise InputError(f"level must be one of {list(allowed)}, got {level!r}", argument="level")
    return key


def _value(value: float, name: str = "value") -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise InputError(f"{name} must be a number, got {value!r}", argument=name)
    out = float(value)
    if not math.isfinite(out):
        raise InputError(f"{name} must be a finite number, got {value!r}", argument=name)
    return out


def rate_kpi(kpi: str, value: float, *, market: str = "eu") -> Level:
    """Rate a KPI value against the article benchmark.

    Parameters
    ----------
    kpi
        ``"repeat_rate"`` (fraction), ``"clv_cac"`` (ratio) or ``"at_risk_share"``
        (fraction, lower is better); case, spaces and the aliases of
        :data:`KPI_ALIASES` (``"CLV:CAC"``, ``"repeat purchase rate"``) are accepted.
    value
        The KPI value; rates as fractions (``0.22`` for 22 %).
    market
        ``"eu"`` (default; also ``"europe"``, ``"it"``), ``"us"`` (``"usa"``) or
        ``"uk"`` (rated like ``"us"``); only CLV : CAC differs.

    Returns
    -------
    str
        ``"below"``, ``"average"``, ``"healthy"`` or ``"excellent"``: the best level
        whose threshold the value reaches (``>=`` for higher-is-better KPIs, ``<=`` for
        lower-is-better ones).

    Examples
    --------
    >>> rate_kpi("repeat_rate", 0.10), rate_kpi("repeat_rate", 0.30)
    ('below', 'excellent')
    >>> rate_kpi("at_risk_share", 0.20)
    'healthy'
    """
    bench = _benchmark(kpi)
    x = _value(value)
    limits = bench.thresholds[_market(market)]
    for level in reversed(LEVELS[1:]):
        t = limits[level]
        if (x >= t) if bench.direction == "higher" else (x <= t):
            return level
    return "below"


def benchmark_target(kpi: str, level: str = "excellent", *, market: str = "eu") -> float:
    """The threshold of ``level`` (default the target, ``"excellent"``) for ``kpi``.

    Examples
    --------
    >>> benchmark_target("clv_cac"), benchmark_target("clv_cac", "average")
    (4.0, 2.5)
    """
    return _benchmark(kpi).threshold(level, market)


def gap_to_target(kpi: str, value: float, target: float | None = None) -> float:
    """How far ``value`` still is from ``target``, in the direction of improvement.

    ``target`` defaults to the article target (:func:`benchmark_target` at
    ``"excellent"``).

    .. math:: \\text{gap} = \\begin{cases} \\text{target} - \\text{value} &
              \\text{higher is better} \\\\ \\text{value} - \\text{target} &
              \\text{lower is better} \\end{cases}

    A positive gap is what is still missing; zero or negative means the target is met
    (by that margin).

    Examples
    --------
    >>> round(gap_to_target("clv_cac", 3.2), 10)
    0.8
    >>> round(gap_to_target("at_risk_share", 0.28), 10)
    0.1
    """
    bench = _benchmark(kpi)
    x = _value(value)
    t = bench.threshold("excellent") if target is None else _value(target, "target")
    return t - x if bench.direction == "higher" else x - t


def benchmark_table(*, market: str = "eu") -> pd.DataFrame:
    """All benchmarks as a table, for the workbook's Benchmarks sheet and the CLI.

    One row per KPI (index ``kpi``) with ``label``, ``direction``, ``unit``,
    ``typical``, ``average``, ``healthy``, ``excellent`` (thresholds for ``market``),
    ``source`` and ``note``; then one information row per unrated fact (thresholds
    blank, ``direction`` ``"info"``).

    Examples
    --------
    >>> benchmark_table().loc["repeat_rate", "excellent"]
    np.float64(0.3)
    """
    m = _market(market)
    rows: list[dict[str, object]] = []
    for bench in BENCHMARKS.values():
        limits = bench.thresholds[m]
        rows.append(
            {
                "kpi": bench.kpi,
                "label": bench.label,
                "direction": bench.direction,
                "unit": bench.unit,
                "typical": bench.typical,
                "average": limits["average"],
                "healthy": limits["healthy"],
                "excellent": limits["excellent"],
                "source": bench.source,
                "note": bench.note,
            }
        )
    fact = ACQUISITION_VS_RETENTION_COST
    rows.append(
        {
            "kpi": fact.key,
            "label": fact.label,
            "direction": "info",
            "unit": fact.unit,
            "typical": fact.value,
            "average": math.nan,
            "healthy": math.nan,
            "excellent": math.nan,
            "source": fact.source,
            "note": fact.note,
        }
    )
    table = pd.DataFrame(rows).set_index("kpi")
    for col in ("typical", "average", "healthy", "excellent"):
        table[col] = table[col].astype("float64")
    return table
