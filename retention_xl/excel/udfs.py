"""The functions Excel sees: ``=CHURN()``, ``=CLV()``, ``=NPS()``, ``=COHORT()``...

Load this module in a host:

* classic xlwings (Windows): the workbook's ``xlwings.conf`` sheet names it,
  ``UDF Modules = retention_xl.excel.udfs``; then *Import Functions* in the xlwings tab;
* xlwings Lite: ``from retention_xl.excel.udfs import *`` in ``main.py`` (with
  ``retention-xl`` in ``requirements.txt``);
* xlwings Server: ``import retention_xl.excel.udfs as custom_functions``.

Every function is a thin wrapper: it converts what the host passes
(:mod:`retention_xl.excel.convert`) and calls its Python twin in the core, which is
the single source of every number. Functions named in :data:`REGISTRY` with their
argument help; ``retention-xl functions`` prints the list.

Scalar functions (CHURN, CLV, ...) also take ranges of the same shape and then spill
one result per cell, like ``=A2:A13/B2:B13`` would; blank cells give blank results.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from retention_xl.core import kpis
from retention_xl.errors import (
    InputError,
    NotEnoughDataError,
    OutOfRangeError,
    RetentionError,
    ZeroDenominatorError,
)
from retention_xl.excel import convert
from retention_xl.excel.convert import FloatArray
from retention_xl.excel.hosts import current_host
from retention_xl.excel.registry import REGISTRY, Arg, excel_function

__all__ = [
    "AOV",
    "AT_RISK",
    "BENCHMARK",
    "BENCHMARK_TARGET",
    "BGBB_FIT",
    "BGBB_PALIVE",
    "BGBB_PALIVE_INTERVAL",
    "BGBB_PREDICT_PURCHASES",
    "BGBB_PURCHASES_INTERVAL",
    "BGBB_PURCHASES_PI",
    "BGNBD_CLV_INTERVAL",
    "BGNBD_FIT",
    "BGNBD_PALIVE_INTERVAL",
    "BGNBD_PURCHASES_INTERVAL",
    "BGNBD_PURCHASES_PI",
    "BGNBD_TOTALS",
    "CHURN",
    "CLV",
    "CLV_CAC",
    "COHORT",
    "CSAT",
    "GG_FIT",
    "GRR",
    "LIFESPAN",
    "MBGNBD_FIT",
    "MBGNBD_PALIVE",
    "MBGNBD_PALIVE_INTERVAL",
    "MBGNBD_PREDICT_PURCHASES",
    "MBGNBD_PURCHASES_INTERVAL",
    "MBGNBD_PURCHASES_PI",
    "MRR",
    "MRR_MOVEMENTS",
    "NPS",
    "NRR",
    "PALIVE",
    "PREDICT_CLV",
    "PREDICT_PURCHASES",
    "PURCHASE_FREQ",
    "QUICK_RATIO",
    "REGISTRY",
    "REPEAT_RATE",
    "RETENTION",
    "RFM",
    "SBG_FIT",
    "SBG_RETENTION",
    "SURVIVAL",
]

_KPI = "retention_xl: KPIs"
_SAAS = "retention_xl: subscriptions"
_TABLES = "retention_xl: tables"
_BENCH = "retention_xl: benchmarks"
_SHEET_ROWS = 1_048_576  # rows in an Excel sheet: no spill can be taller


def _lifted(core: Callable[..., Any], *pairs: tuple[object, str]) -> object:
    """Call ``core`` on numeric arguments: single cells give a number, ranges spill.

    In a spill, a row whose inputs are impossible (lost > start, a text in a number
    cell, an error value) gets its error in its own cell; the other rows are computed,
    as Excel's ``=B2:B13/C2:C13`` puts ``#DIV/0!`` in the bad row only.
    """
    values = [_single_or_range(value, name) for value, name in pairs]
    if all(isinstance(v, float) for v in values):
        return convert.to_excel(core(*values))
    grids: list[FloatArray] = []
    errors: list[dict[int, Exception]] = []
    for value, (_, name) in zip(values, pairs, strict=True):
        if isinstance(value, float):
            grid, bad = np.full((1, 1), value), dict[int, Exception]()
        else:
            grid, bad = convert.grid_with_errors(value, name)
        grids.append(grid)
        errors.append(bad)
    try:
        shape = np.broadcast_shapes(*(g.shape for g in grids))
    except ValueError:
        shapes = ", ".join(
            f"{name} {g.shape[0]}x{g.shape[1]}" for g, (_, name) in zip(grids, pairs, strict=True)
        )
        raise InputError(
            f"the ranges have different shapes ({shapes}): pass single cells or ranges of "
            f"the same size",
            argument=pairs[0][1],
        ) from None
    arrays = [np.broadcast_to(g, shape) for g in grids]
    cell_errors = _broadcast_errors(grids, errors, shape)
    try:
        result = np.asarray(core(*arrays), dtype=np.float64)
    except RetentionError:
        result = None  # some rows are impossible: compute row by row
    if result is None or cell_errors:
        return _row_by_row(core, arrays, result, cell_errors, shape)
    return convert.to_excel(result)


def _single_or_range(value: object, name: str) -> object:
    """A float for one cell (a one-cell range included), else the range as passed."""
    if isinstance(value, (list, tuple)):
        # one cell is [x] or [[x]]: counted without building an array (a hot path)
        inner = value[0] if len(value) == 1 else None
        if len(value) != 1 or (isinstance(inner, (list, tuple)) and len(inner) != 1):
            return value
    elif isinstance(value, (np.ndarray, pd.Series, pd.DataFrame)) and value.size != 1:
        return value
    result = convert.as_float_or_grid(value, name)
    return float(result) if not isinstance(result, float) else result


def _broadcast_errors(
    grids: list[FloatArray], errors: list[dict[int, Exception]], shape: tuple[int, ...]
) -> dict[tuple[int, int], Exception]:
    """Each argument's bad cells at their places in the broadcast result."""
    out: dict[tuple[int, int], Exception] = {}
    for grid, bad in zip(grids, errors, strict=True):
        for position, exc in bad.items():
            r, c = divmod(position, grid.shape[1])
            rows = range(shape[0]) if grid.shape[0] == 1 else [r]
            cols = range(shape[1]) if grid.shape[1] == 1 else [c]
            for rr in rows:
                for cc in cols:
                    out.setdefault((rr, cc), exc)
    return out


def _row_by_row(
    core: Callable[..., Any],
    arrays: list[Any],
    result: Any,
    cell_errors: dict[tuple[int, int], Exception],
    shape: tuple[int, ...],
) -> object:
    host = current_host()
    out: list[list[object]] = []
    for r in range(shape[0]):
        row: list[object] = []
        for c in range(shape[1]):
            if (r, c) in cell_errors:
                row.append(convert.cell_error(cell_errors[(r, c)], host))
                continue
            if result is not None:
                value = float(result[r, c])
            else:
                args = [float(a[r, c]) for a in arrays]
                if any(np.isnan(a) for a in args):
                    row.append("")  # a blank input gives a blank result
                    continue
                try:
                    value = float(core(*args))
                except RetentionError as exc:
                    row.append(convert.cell_error(exc, host))
                    continue
            row.append(convert.to_excel(value) if np.isfinite(value) else "")
        out.append(row)
    return out


def _blank(value: object) -> bool:
    """An optional argument left out or pointing at a blank cell."""
    try:
        return convert.number(value, "value", default=None) is None
    except InputError:
        return False


# ---------------------------------------------------------------------------- customers


@excel_function(
    "CHURN",
    twin="retention_xl.churn_rate",
    category=_KPI,
    help="Churn rate: customers lost in the period / customers at period start (0.05 = 5 %).",
    args=(
        Arg("customers_start", "Customers at the start of the period.", lifted=True),
        Arg("customers_lost", "Customers lost during the period.", lifted=True),
    ),
    example="=CHURN(1000, 50)",
    example_result="0.05",
)
def CHURN(customers_start: object, customers_lost: object) -> object:
    return _lifted(
        kpis.churn_rate, (customers_start, "customers_start"), (customers_lost, "customers_lost")
    )


@excel_function(
    "RETENTION",
    twin="retention_xl.retention_rate",
    category=_KPI,
    help="Customer retention rate: (customers at end - new customers) / customers at start.",
    args=(
        Arg("customers_start", "Customers at the start of the period.", lifted=True),
        Arg("customers_end", "Customers at the end of the period.", lifted=True),
        Arg("customers_new", "New customers acquired during the period.", lifted=True),
    ),
    example="=RETENTION(1000, 1000, 150)",
    example_result="0.85",
)
def RETENTION(customers_start: object, customers_end: object, customers_new: object) -> object:
    return _lifted(
        kpis.retention_rate,
        (customers_start, "customers_start"),
        (customers_end, "customers_end"),
        (customers_new, "customers_new"),
    )


@excel_function(
    "REPEAT_RATE",
    twin="retention_xl.repeat_purchase_rate",
    category=_KPI,
    help=(
        "Repeat purchase rate: repeat customers / all customers; or give one range of "
        "customer ids, one per order, for the share of customers with 2+ orders."
    ),
    args=(
        Arg(
            "repeat_or_ids",
            "Customers with 2+ purchases; or a range of customer ids, one per order.",
            lifted=True,
        ),
        Arg(
            "total_customers",
            "All customers (leave out when the first argument holds customer ids).",
            optional=True,
            lifted=True,
        ),
    ),
    example="=REPEAT_RATE(200, 1000)",
    example_result="0.2",
)
def REPEAT_RATE(repeat_or_ids: object, total_customers: object = None) -> object:
    if _blank(total_customers):
        # The ids come packed for the core's counter (no Python object per id beyond
        # the host's own), then the core divides.
        customer_ids = convert.id_keys(repeat_or_ids, "customer_ids")
        if len(customer_ids) == 0:
            raise ZeroDenominatorError(
                "customer_ids is empty: no customers", argument="customer_ids"
            )
        repeaters, customers = kpis.count_repeaters(customer_ids)
        return convert.to_excel(kpis.repeat_purchase_rate(repeaters, customers))
    return _lifted(
        kpis.repeat_purchase_rate,
        (repeat_or_ids, "repeat_customers"),
        (total_customers, "total_customers"),
    )


@excel_function(
    "CLV",
    twin="retention_xl.clv",
    category=_KPI,
    help=(
        "Customer lifetime value: average purchase value x purchase frequency x lifespan "
        "x gross margin (frequency and lifespan in the same time unit)."
    ),
    args=(
        Arg("avg_purchase_value", "Average value of a purchase.", lifted=True),
        Arg(
            "purchase_frequency", "Purchases per customer per period (e.g. per year).", lifted=True
        ),
        Arg("lifespan", "Expected customer lifetime, in the same periods.", lifted=True),
        Arg(
            "gross_margin",
            "Gross margin as a fraction 0..1 (default 1: revenue CLV).",
            optional=True,
            default="1",
            lifted=True,
        ),
    ),
    example="=CLV(50, 4, 5)",
    example_result="1000",
)
def CLV(
    avg_purchase_value: object,
    purchase_frequency: object,
    lifespan: object,
    gross_margin: object = None,
) -> object:
    margin = 1.0 if _blank(gross_margin) else gross_margin
    return _lifted(
        kpis.clv,
        (avg_purchase_value, "avg_purchase_value"),
        (purchase_frequency, "purchase_frequency"),
        (lifespan, "lifespan"),
        (margin, "gross_margin"),
    )


@excel_function(
    "CLV_CAC",
    twin="retention_xl.clv_cac_ratio",
    category=_KPI,
    help="CLV to customer acquisition cost ratio (3 means 3:1; 3 is healthy, 4+ the target).",
    args=(
        Arg("clv", "Customer lifetime value.", lifted=True),
        Arg("cac", "Customer acquisition cost.", lifted=True),
    ),
    example="=CLV_CAC(300, 100)",
    example_result="3",
)
def CLV_CAC(clv: object, cac: object) -> object:
    return _lifted(kpis.clv_cac_ratio, (clv, "clv"), (cac, "cac"))


@excel_function(
    "AOV",
    twin="retention_xl.aov",
    category=_KPI,
    help="Average order value: the mean of the order amounts (blank cells are ignored).",
    args=(Arg("order_amounts", "Order amounts, net of tax, shipping and refunds."),),
    example="=AOV({10, 20, 30})",
    example_result="20",
)
def AOV(order_amounts: object) -> object:
    return convert.to_excel(kpis.aov(convert.numbers(order_amounts, "order_amounts")))


@excel_function(
    "PURCHASE_FREQ",
    twin="retention_xl.purchase_frequency",
    category=_KPI,
    help="Purchase frequency: orders per customer in the period.",
    args=(
        Arg("orders", "Orders in the period.", lifted=True),
        Arg("customers", "Customers who ordered in the period.", lifted=True),
    ),
    example="=PURCHASE_FREQ(4000, 1000)",
    example_result="4",
)
def PURCHASE_FREQ(orders: object, customers: object) -> object:
    return _lifted(kpis.purchase_frequency, (orders, "orders"), (customers, "customers"))


@excel_function(
    "LIFESPAN",
    twin="retention_xl.lifespan",
    category=_KPI,
    help="Expected customer lifespan in periods under a constant churn rate: 1 / churn.",
    args=(Arg("churn_rate", "Churn rate per period, a fraction 0..1.", lifted=True),),
    example="=LIFESPAN(0.2)",
    example_result="5",
)
def LIFESPAN(churn_rate: object) -> object:
    return _lifted(kpis.lifespan, (churn_rate, "churn_rate"))


@excel_function(
    "AT_RISK",
    twin="retention_xl.at_risk_share",
    category=_KPI,
    help=(
        "Share of customers whose probability of being alive is below threshold (default "
        "0.5); about 28 % is typical in e-commerce, 18 % a good target."
    ),
    args=(
        Arg("p_alive_values", "Probabilities 0..1 that each customer is still active."),
        Arg(
            "threshold",
            "Below this probability a customer is at risk (default 0.5).",
            optional=True,
            default="0.5",
        ),
    ),
    example="=AT_RISK({0.9, 0.2, 0.6, 0.4})",
    example_result="0.5",
)
def AT_RISK(p_alive_values: object, threshold: object = None) -> object:
    values = convert.numbers(p_alive_values, "p_alive_values")
    limit = convert.number(threshold, "threshold", default=0.5)
    return convert.to_excel(kpis.at_risk_share(values, limit))


# ---------------------------------------------------------------------------- surveys


@excel_function(
    "NPS",
    twin="retention_xl.nps",
    category=_KPI,
    help=(
        "Net Promoter Score, -100..100: from 0-10 answers (promoters 9-10, detractors 0-6), "
        "or from the promoters' and detractors' shares."
    ),
    args=(
        Arg(
            "scores_or_promoters",
            "Answers on the 0-10 scale; or the promoters' share (0.7 for 70 %).",
            lifted=True,
        ),
        Arg(
            "detractors_share",
            "The detractors' share, when the first argument is the promoters' share.",
            optional=True,
            lifted=True,
        ),
    ),
    example="=NPS(0.7, 0.1)",
    example_result="60",
)
def NPS(scores_or_promoters: object, detractors_share: object = None) -> object:
    if _blank(detractors_share):
        return convert.to_excel(kpis.nps(convert.numbers(scores_or_promoters, "scores")))
    return _lifted(
        kpis.nps,
        (scores_or_promoters, "promoters_share"),
        (detractors_share, "detractors_share"),
    )


@excel_function(
    "CSAT",
    twin="retention_xl.csat",
    category=_KPI,
    help="Customer satisfaction: share of answers at or above satisfied_min (1-5 scale).",
    args=(
        Arg("scores", "Answers on the 1-5 scale."),
        Arg("satisfied_min", "Lowest satisfied score (default 4).", optional=True, default="4"),
    ),
    example="=CSAT({5, 4, 2, 5})",
    example_result="0.75",
)
def CSAT(scores: object, satisfied_min: object = None) -> object:
    answers = convert.numbers(scores, "scores")
    minimum = convert.number(satisfied_min, "satisfied_min", default=4.0)
    return convert.to_excel(kpis.csat(answers, minimum))


# ---------------------------------------------------------------------------- subscriptions


@excel_function(
    "MRR",
    twin="retention_xl.mrr",
    category=_SAAS,
    help=(
        "Monthly recurring revenue: customers x average revenue per customer, or the sum "
        "of a range of monthly amounts."
    ),
    args=(
        Arg(
            "customers_or_amounts",
            "Paying customers; or a range of monthly recurring amounts.",
            lifted=True,
        ),
        Arg(
            "arpc",
            "Average monthly revenue per customer (leave out for amounts).",
            optional=True,
            lifted=True,
        ),
    ),
    example="=MRR(100, 50)",
    example_result="5000",
)
def MRR(customers_or_amounts: object, arpc: object = None) -> object:
    if _blank(arpc):
        amounts = convert.numbers(customers_or_amounts, "monthly_amounts")
        return convert.to_excel(kpis.mrr(amounts))
    return _lifted(kpis.mrr, (customers_or_amounts, "customers"), (arpc, "arpc"))


@excel_function(
    "NRR",
    twin="retention_xl.nrr",
    category=_SAAS,
    help=(
        "Net revenue retention: (start MRR + expansion - contraction - churned) / start MRR, "
        "without new business."
    ),
    args=(
        Arg("start_mrr", "MRR of the customers active at the start.", lifted=True),
        Arg("expansion", "MRR added by upgrades of those customers.", lifted=True),
        Arg("contraction", "MRR lost to downgrades, a positive amount.", lifted=True),
        Arg("churned", "MRR lost to cancellations, a positive amount.", lifted=True),
    ),
    example="=NRR(10000, 1500, 500, 800)",
    example_result="1.02",
)
def NRR(start_mrr: object, expansion: object, contraction: object, churned: object) -> object:
    return _lifted(
        kpis.nrr,
        (start_mrr, "start_mrr"),
        (expansion, "expansion"),
        (contraction, "contraction"),
        (churned, "churned"),
    )


@excel_function(
    "GRR",
    twin="retention_xl.grr",
    category=_SAAS,
    help="Gross revenue retention: (start MRR - contraction - churned) / start MRR; at most 1.",
    args=(
        Arg("start_mrr", "MRR of the customers active at the start.", lifted=True),
        Arg("contraction", "MRR lost to downgrades, a positive amount.", lifted=True),
        Arg("churned", "MRR lost to cancellations, a positive amount.", lifted=True),
    ),
    example="=GRR(10000, 500, 800)",
    example_result="0.87",
)
def GRR(start_mrr: object, contraction: object, churned: object) -> object:
    return _lifted(
        kpis.grr, (start_mrr, "start_mrr"), (contraction, "contraction"), (churned, "churned")
    )


@excel_function(
    "QUICK_RATIO",
    twin="retention_xl.quick_ratio",
    category=_SAAS,
    help="SaaS quick ratio: (new + expansion MRR) / (contraction + churned MRR); 4+ is efficient.",
    args=(
        Arg("new_mrr", "MRR from new customers.", lifted=True),
        Arg("expansion", "MRR added by upgrades.", lifted=True),
        Arg("contraction", "MRR lost to downgrades, a positive amount.", lifted=True),
        Arg("churned", "MRR lost to cancellations, a positive amount.", lifted=True),
    ),
    example="=QUICK_RATIO(3000, 1000, 400, 600)",
    example_result="4",
)
def QUICK_RATIO(new_mrr: object, expansion: object, contraction: object, churned: object) -> object:
    return _lifted(
        kpis.quick_ratio,
        (new_mrr, "new_mrr"),
        (expansion, "expansion"),
        (contraction, "contraction"),
        (churned, "churned"),
    )


# ---------------------------------------------------------------------------- benchmarks

_BENCH_KPIS = "repeat_rate, clv_cac or at_risk_share"


@excel_function(
    "BENCHMARK",
    twin="retention_xl.core.benchmarks.rate_kpi",
    category=_BENCH,
    help=(
        "Rates a KPI against the published benchmarks: below, average, healthy or "
        f"excellent. kpi_name: {_BENCH_KPIS}."
    ),
    args=(
        Arg("kpi_name", f"The KPI: {_BENCH_KPIS}."),
        Arg("value", "The KPI's value (0.25 for 25 %, 3 for a 3:1 ratio)."),
        Arg(
            "market",
            'The market: "eu" (default), "us" or "uk"; only clv_cac differs.',
            optional=True,
            default='"eu"',
        ),
    ),
    example='=BENCHMARK("repeat_rate", 0.25)',
    example_result="healthy",
)
def BENCHMARK(kpi_name: object, value: object, market: object = None) -> object:
    from retention_xl.core import benchmarks

    kpi = convert.text(kpi_name, "kpi_name")
    number = convert.number(value, "value")
    where = convert.text(market, "market", default="eu")
    return convert.to_excel(benchmarks.rate_kpi(kpi, number, market=where))


@excel_function(
    "BENCHMARK_TARGET",
    twin="retention_xl.core.benchmarks.benchmark_target",
    category=_BENCH,
    help=(
        "The benchmark value of a KPI at a level: below, average, healthy or excellent "
        f"(default). kpi_name: {_BENCH_KPIS}."
    ),
    args=(
        Arg("kpi_name", f"The KPI: {_BENCH_KPIS}."),
        Arg(
            "level",
            'The level, "excellent" (default), "healthy" or "average".',
            optional=True,
            default='"excellent"',
        ),
    ),
    example='=BENCHMARK_TARGET("repeat_rate")',
    example_result="0.3",
)
def BENCHMARK_TARGET(kpi_name: object, level: object = None) -> object:
    from retention_xl.core import benchmarks

    kpi = convert.text(kpi_name, "kpi_name")
    where = convert.text(level, "level", default="excellent")
    return convert.to_excel(benchmarks.benchmark_target(kpi, where))


# ---------------------------------------------------------------------------- spilled tables


def _orders(customer_ids: object, order_dates: object, amounts: object | None) -> pd.DataFrame:
    """Three aligned ranges as the canonical orders frame (one order per row)."""
    columns: dict[str, tuple[object, convert.Kind]] = {
        "customer_ids": (customer_ids, "id"),
        "order_dates": (order_dates, "date"),
    }
    if amounts is not None:
        columns["amounts"] = (amounts, "number")
    data = convert.aligned(columns)
    n = len(data["customer_ids"])
    if n == 0:
        raise NotEnoughDataError("customer_ids has no orders", argument="customer_ids")
    return pd.DataFrame(
        {
            "customer_id": data["customer_ids"],
            "order_id": np.arange(1, n + 1).astype(str),
            "order_date": data["order_dates"],
            # Without amounts every order counts as a purchase of 1.
            "amount": data["amounts"] if amounts is not None else np.ones(n),
        }
    )


@excel_function(
    "RFM",
    twin="retention_xl.core.customers.rfm_table",
    category=_TABLES,
    help=(
        "Spills the RFM table: one row per customer with recency (days), frequency, "
        "monetary, R, F, M scores 1-5 (5 best) and segment."
    ),
    args=(
        Arg("customer_ids", "Customer id of each order (one row per order)."),
        Arg("order_dates", "Date of each order."),
        Arg("amounts", "Amount of each order, net of tax, shipping and refunds."),
        Arg(
            "as_of",
            "The day to measure recency from (default: the last order date).",
            optional=True,
            default="last order date",
        ),
    ),
    example="=RFM(Orders!A2:A500, Orders!C2:C500, Orders!D2:D500)",
    example_result="a table: customer, recency, frequency, monetary, R, F, M, segment",
    spills=True,
)
def RFM(customer_ids: object, order_dates: object, amounts: object, as_of: object = None) -> object:
    from retention_xl.core import customers

    orders = _orders(customer_ids, order_dates, amounts)
    when = convert.date(as_of, "as_of", default=None)
    rfm = customers.rfm_table(orders, as_of=when)
    frame = rfm.reset_index()
    frame[frame.columns[0]] = _ids_as_given(frame[frame.columns[0]], customer_ids)
    columns = [frame.columns[0], "recency", "frequency", "monetary", "R", "F", "M", "segment"]
    return convert.table(
        frame[columns],
        ["customer", "recency", "frequency", "monetary", "R", "F", "M", "segment"],
    )


@excel_function(
    "COHORT",
    twin="retention_xl.core.cohorts.cohort_matrix",
    category=_TABLES,
    help=(
        "Spills the cohort matrix: rows = first-purchase period, columns = periods since, "
        "cells = share of the cohort active (or of its first-period revenue)."
    ),
    args=(
        Arg("customer_ids", "Customer id of each order (one row per order)."),
        Arg("order_dates", "Date of each order."),
        Arg("amounts", 'Amount of each order (needed for measure "revenue").', optional=True),
        Arg("measure", '"customers" (default) or "revenue".', optional=True, default='"customers"'),
        Arg(
            "period",
            '"M" for months (default), "Q" for quarters, "Y" for years.',
            optional=True,
            default='"M"',
        ),
    ),
    example="=COHORT(Orders!A2:A500, Orders!C2:C500)",
    example_result="a table: cohort, then one column per period since the first purchase",
    spills=True,
)
def COHORT(
    customer_ids: object,
    order_dates: object,
    amounts: object = None,
    measure: object = None,
    period: object = None,
) -> object:
    from retention_xl.core import cohorts
    from retention_xl.core.schema import prepare_orders

    what = convert.text(measure, "measure", default="customers", choices=("customers", "revenue"))
    every = str(convert.text(period, "period", default="m")).upper()
    has_amounts = not _blank_range(amounts)
    if what == "revenue" and not has_amounts:
        raise InputError('measure "revenue" needs the amounts range', argument="amounts")
    orders = prepare_orders(_orders(customer_ids, order_dates, amounts if has_amounts else None))
    counts = cohorts.cohort_counts(orders, measure=what, period=every)
    matrix = cohorts.cohort_matrix(orders, measure=what, period=every)
    frame = pd.DataFrame({"cohort": matrix.index.astype(str), "size": counts["size"].to_numpy()})
    frame = pd.concat([frame, matrix.reset_index(drop=True)], axis=1)
    header: list[object] = ["cohort", "size", *[_offset_label(c) for c in matrix.columns]]
    return convert.table(frame, header)


def _offset_label(column: object) -> object:
    return int(column) if isinstance(column, (int, np.integer)) else str(column)


def _blank_range(value: object) -> bool:
    """An optional range left out, or a range of blank cells only."""
    if value is None:
        return True
    flat = value if isinstance(value, (list, tuple)) else [value]
    cells = [c for row in flat for c in (row if isinstance(row, (list, tuple)) else [row])]
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


@excel_function(
    "MRR_MOVEMENTS",
    twin="retention_xl.core.subscriptions.mrr_movements",
    category=_TABLES,
    help=(
        "Spills MRR movements by month: starting MRR, new, expansion, contraction, churn, "
        "reactivation, ending MRR, customers."
    ),
    args=(
        Arg("customer_ids", "Customer id of each row (one row per customer and month)."),
        Arg("months", "The month of each row (any date in the month)."),
        Arg("mrr", "The customer's MRR in that month."),
    ),
    example="=MRR_MOVEMENTS(Mrr!A2:A900, Mrr!B2:B900, Mrr!C2:C900)",
    example_result="a table: month, starting_mrr, new, expansion, contraction, churn, "
    "reactivation, ending_mrr, customers",
    spills=True,
)
def MRR_MOVEMENTS(customer_ids: object, months: object, mrr: object) -> object:
    from retention_xl.core import subscriptions

    data = convert.aligned(
        {"customer_ids": (customer_ids, "id"), "months": (months, "date"), "mrr": (mrr, "number")}
    )
    if len(data["customer_ids"]) == 0:
        raise NotEnoughDataError("customer_ids has no rows", argument="customer_ids")
    month = pd.DatetimeIndex(data["months"]).to_period("M").to_timestamp()
    long = pd.DataFrame({"customer_id": data["customer_ids"], "month": month, "mrr": data["mrr"]})
    movements = subscriptions.mrr_movements(long)
    columns = [
        "starting_mrr",
        "new",
        "expansion",
        "contraction",
        "churn",
        "reactivation",
        "ending_mrr",
        "customers",
    ]
    frame = movements[columns].reset_index()
    return convert.table(frame, ["month", *columns])


@excel_function(
    "SURVIVAL",
    twin="retention_xl.core.survival.kaplan_meier",
    category=_TABLES,
    help=(
        "Spills the Kaplan-Meier survival table: time, customers at risk, events, "
        "censored, survival."
    ),
    args=(
        Arg("durations", "How long each customer has been observed (days, months...)."),
        Arg("ended_flags", "TRUE (or 1) if the customer left, FALSE (or 0) if still active."),
    ),
    example="=SURVIVAL(Customers!F2:F900, Customers!G2:G900)",
    example_result="a table: time, at_risk, events, censored, survival",
    spills=True,
)
def SURVIVAL(durations: object, ended_flags: object) -> object:
    from retention_xl.core import survival

    data = convert.aligned(
        {"durations": (durations, "number"), "ended_flags": (ended_flags, "flag")}
    )
    if len(data["durations"]) == 0:
        raise NotEnoughDataError("durations has no customers", argument="durations")
    km = survival.kaplan_meier(data["durations"], data["ended_flags"])
    columns = ["time", "at_risk", "events", "censored", "survival"]
    return convert.table(km[columns], columns)


# ---------------------------------------------------------------------------- models

_MODELS = "retention_xl: models"
_BGNBD_PARAMS = ("r", "alpha", "a", "b")
_GG_PARAMS = ("p", "q", "gamma")


#: Fitted tables (and fitted models) by a hash of their inputs: a recalculation that
#: leaves a fit's ranges unchanged (an edit elsewhere in the workbook) returns the table
#: without refitting. Bounded: the tables are a few rows each, the models a few
#: parameters, the keys 20-byte digests.
_FIT_CACHE: OrderedDict[tuple[str, bytes], Any] = OrderedDict()
FIT_CACHE_SIZE = 64


def _fit_cached(kind: str, arrays: Sequence[Any], fit: Callable[[], Any]) -> list[list[object]]:
    """``_fit_table(fit())``, remembered by ``kind`` and the bytes of ``arrays``."""
    digest = hashlib.sha1(kind.encode(), usedforsecurity=False)
    for array in arrays:
        a = np.ascontiguousarray(np.asarray(array, dtype=np.float64))
        digest.update(str(a.shape).encode())
        digest.update(a.tobytes())
    key = (kind, digest.digest())
    table = _FIT_CACHE.get(key)
    if table is None:
        table = _fit_table(fit())
        _FIT_CACHE[key] = table
        while len(_FIT_CACHE) > FIT_CACHE_SIZE:
            _FIT_CACHE.popitem(last=False)
    else:
        _FIT_CACHE.move_to_end(key)
    return [list(row) for row in table]


def _ids_as_given(ids: pd.Series, given: object) -> pd.Series:
    """Customer ids back in the type the user's cells have: numbers stay numbers.

    The core keys customers by text (``1001.0`` and ``"1001"`` are one customer); a
    column of numeric ids (loyalty card numbers) comes back as numbers, so lookups
    against the user's own numeric column (``XLOOKUP``, ``MATCH``) find them.
    """
    try:
        flat, _ = convert._flat(given, "customer_ids")
    except InputError:
        return ids
    cells = [c for c in flat if c is not None and not (isinstance(c, str) and not c.strip())]
    numeric = bool(cells) and all(
        isinstance(c, (int, float, np.integer, np.floating)) and not isinstance(c, bool)
        for c in cells
    )
    if not numeric:
        return ids
    values = pd.to_numeric(ids, errors="coerce")
    if values.isna().any():
        return ids
    if (values == values.round()).all():
        return values.astype("int64").astype(object)
    return values.astype(object)


def _fit_table(model: Any) -> list[list[object]]:
    """A fitted model as a spilled table: parameter, value, standard error and the 95 %
    bounds (from the observed information at the optimum), then the log-likelihood."""
    rows: list[list[object]] = [["parameter", "value", "se", "lower_95", "upper_95"]]
    summary = getattr(model, "summary", None)
    for name, value in model.params_.items():
        if summary is not None and name in summary.index:
            se, lower, upper = (float(summary.loc[name, c]) for c in ("se", "lower_95", "upper_95"))
            rows.append([str(name), float(value), se, lower, upper])
        else:
            rows.append([str(name), float(value), None, None, None])
    rows.append(["log_likelihood", float(model.log_likelihood_), None, None, None])
    return [[convert.to_excel(v) if isinstance(v, float) else v for v in row] for row in rows]


def _params(names: tuple[str, ...], values: tuple[object, ...]) -> dict[str, float]:
    return {name: convert.number(v, name) for name, v in zip(names, values, strict=True)}


def _lifted_rows(core: Callable[..., Any], *pairs: tuple[object, str]) -> object:
    """Like :func:`_lifted`, for per-customer model functions: blank cells give blanks.

    ``core`` takes 1-D arrays and returns one value per element; it sees only the
    positions where every argument has a number.
    """
    values = [convert.as_float_or_grid(value, name) for value, name in pairs]
    if all(isinstance(v, float) for v in values):
        return convert.to_excel(float(np.asarray(core(*values)).reshape(-1)[0]))
    arrays = [np.asarray(v, dtype=np.float64) for v in values]
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        raise InputError(
            "the ranges have different shapes: pass single cells or ranges of the same size",
            argument=pairs[0][1],
        ) from None
    flat = [np.broadcast_to(a, shape).reshape(-1) for a in arrays]
    keep = np.logical_and.reduce([np.isfinite(a) for a in flat])
    out = np.full(keep.size, np.nan)
    if keep.any():
        out[keep] = core(*(a[keep] for a in flat))
    return convert.to_excel(out.reshape(shape))


def _history(
    frequency: object, recency: object, age: object, age_name: str = "age"
) -> dict[str, np.ndarray]:
    data = convert.aligned(
        {
            "frequency": (frequency, "number"),
            "recency": (recency, "number"),
            age_name: (age, "number"),
        }
    )
    if len(data["frequency"]) == 0:
        raise NotEnoughDataError("frequency has no customers", argument="frequency")
    return data


_FREQ = Arg(
    "frequency",
    "Repeat purchases of each customer: purchase days after the first (0 if bought once).",
    lifted=True,
)
_RECENCY = Arg("recency", "Time from the first to the last purchase (weeks, as age).", lifted=True)
_AGE = Arg("age", "Time from the first purchase to today (T), in the same unit.", lifted=True)
_FIT_ARGS = tuple(Arg(a.name, a.doc) for a in (_FREQ, _RECENCY, _AGE))
_BG_ARGS = (
    Arg("r", "BG/NBD r (from BGNBD_FIT)."),
    Arg("alpha", "BG/NBD alpha (from BGNBD_FIT), in the time unit of age."),
    Arg("a", "BG/NBD a (from BGNBD_FIT)."),
    Arg("b", "BG/NBD b (from BGNBD_FIT)."),
)


@excel_function(
    "BGNBD_FIT",
    twin="retention_xl.core.models.BetaGeo.fit",
    category=_MODELS,
    help=(
        "Fits the BG/NBD repeat-buying model by maximum likelihood; spills r, alpha, a, b "
        "and the log-likelihood with a header. One row per customer."
    ),
    args=_FIT_ARGS,
    example="=BGNBD_FIT(Customers!B2:B900, Customers!C2:C900, Customers!D2:D900)",
    example_result=(
        "a table: parameter, value, se, lower_95, upper_95 (r, alpha, a, b, log_likelihood)"
    ),
    spills=True,
)
def BGNBD_FIT(frequency: object, recency: object, age: object) -> object:
    from retention_xl.core.models import BetaGeo

    data = _history(frequency, recency, age)
    columns = (data["frequency"], data["recency"], data["age"])
    return _fit_cached("BGNBD", columns, lambda: BetaGeo().fit(*columns))


@excel_function(
    "PALIVE",
    twin="retention_xl.core.models.BetaGeo.p_alive",
    category=_MODELS,
    help=(
        "Probability that a customer is still active under BG/NBD, from their frequency, "
        "recency and age and the fitted r, alpha, a, b; ranges spill one value per customer."
    ),
    args=(_FREQ, _RECENCY, _AGE, *_BG_ARGS),
    example="=PALIVE(2, 30.43, 38.86, 0.243, 4.414, 0.793, 2.426)",
    example_result="≈ 0.7266",
)
def PALIVE(
    frequency: object,
    recency: object,
    age: object,
    r: object,
    alpha: object,
    a: object,
    b: object,
) -> object:
    from retention_xl.core.models import BetaGeo

    model = BetaGeo.from_params(**_params(_BGNBD_PARAMS, (r, alpha, a, b)))
    return _lifted_rows(model.p_alive, (frequency, "frequency"), (recency, "recency"), (age, "age"))


@excel_function(
    "PREDICT_PURCHASES",
    twin="retention_xl.core.models.BetaGeo.expected_purchases",
    category=_MODELS,
    help=(
        "Expected repeat purchases in the next t periods under BG/NBD, given a customer's "
        "frequency, recency, age and the fitted r, alpha, a, b; ranges spill one per customer."
    ),
    args=(
        Arg("t", "Horizon, in the time unit of age (e.g. 52 weeks).", lifted=True),
        _FREQ,
        _RECENCY,
        _AGE,
        *_BG_ARGS,
    ),
    example="=PREDICT_PURCHASES(39, 2, 30.43, 38.86, 0.243, 4.414, 0.793, 2.426)",
    example_result="≈ 1.226",
)
def PREDICT_PURCHASES(
    t: object,
    frequency: object,
    recency: object,
    age: object,
    r: object,
    alpha: object,
    a: object,
    b: object,
) -> object:
    from retention_xl.core.models import BetaGeo

    model = BetaGeo.from_params(**_params(_BGNBD_PARAMS, (r, alpha, a, b)))
    return _lifted_rows(
        model.expected_purchases,
        (t, "t"),
        (frequency, "frequency"),
        (recency, "recency"),
        (age, "age"),
    )


_MBG_ARGS = (
    Arg("r", "MBG/NBD r (from MBGNBD_FIT)."),
    Arg("alpha", "MBG/NBD alpha (from MBGNBD_FIT), in the time unit of age."),
    Arg("a", "MBG/NBD a (from MBGNBD_FIT)."),
    Arg("b", "MBG/NBD b (from MBGNBD_FIT)."),
)


@excel_function(
    "MBGNBD_FIT",
    twin="retention_xl.core.models.ModifiedBetaGeo.fit",
    category=_MODELS,
    help=(
        "Fits the MBG/NBD model (BG/NBD where customers can also leave after the first "
        "purchase) by maximum likelihood; spills r, alpha, a, b and the log-likelihood with "
        "a header. One row per customer."
    ),
    args=_FIT_ARGS,
    example="=MBGNBD_FIT(Customers!B2:B900, Customers!C2:C900, Customers!D2:D900)",
    example_result=(
        "a table: parameter, value, se, lower_95, upper_95 (r, alpha, a, b, log_likelihood)"
    ),
    spills=True,
)
def MBGNBD_FIT(frequency: object, recency: object, age: object) -> object:
    from retention_xl.core.models import ModifiedBetaGeo

    data = _history(frequency, recency, age)
    columns = (data["frequency"], data["recency"], data["age"])
    return _fit_cached("MBGNBD", columns, lambda: ModifiedBetaGeo().fit(*columns))


@excel_function(
    "MBGNBD_PALIVE",
    twin="retention_xl.core.models.ModifiedBetaGeo.p_alive",
    category=_MODELS,
    help=(
        "Probability that a customer is still active under MBG/NBD (below 1 also for "
        "customers who never bought again), from frequency, recency, age and the fitted "
        "r, alpha, a, b; ranges spill one value per customer."
    ),
    args=(_FREQ, _RECENCY, _AGE, *_MBG_ARGS),
    example="=MBGNBD_PALIVE(2, 30.43, 38.86, 0.525, 6.183, 0.891, 1.614)",
    example_result="≈ 0.7062",
)
def MBGNBD_PALIVE(
    frequency: object,
    recency: object,
    age: object,
    r: object,
    alpha: object,
    a: object,
    b: object,
) -> object:
    from retention_xl.core.models import ModifiedBetaGeo

    model = ModifiedBetaGeo.from_params(**_params(_BGNBD_PARAMS, (r, alpha, a, b)))
    return _lifted_rows(model.p_alive, (frequency, "frequency"), (recency, "recency"), (age, "age"))


@excel_function(
    "MBGNBD_PREDICT_PURCHASES",
    twin="retention_xl.core.models.ModifiedBetaGeo.expected_purchases",
    category=_MODELS,
    help=(
        "Expected repeat purchases in the next t periods under MBG/NBD, given a customer's "
        "frequency, recency, age and the fitted r, alpha, a, b; ranges spill one per customer."
    ),
    args=(
        Arg("t", "Horizon, in the time unit of age (e.g. 52 weeks).", lifted=True),
        _FREQ,
        _RECENCY,
        _AGE,
        *_MBG_ARGS,
    ),
    example="=MBGNBD_PREDICT_PURCHASES(39, 2, 30.43, 38.86, 0.525, 6.183, 0.891, 1.614)",
    example_result="≈ 1.263",
)
def MBGNBD_PREDICT_PURCHASES(
    t: object,
    frequency: object,
    recency: object,
    age: object,
    r: object,
    alpha: object,
    a: object,
    b: object,
) -> object:
    from retention_xl.core.models import ModifiedBetaGeo

    model = ModifiedBetaGeo.from_params(**_params(_BGNBD_PARAMS, (r, alpha, a, b)))
    return _lifted_rows(
        model.expected_purchases,
        (t, "t"),
        (frequency, "frequency"),
        (recency, "recency"),
        (age, "age"),
    )


_BGBB_PARAMS = ("alpha", "beta", "gamma", "delta")
_PFREQ = Arg(
    "frequency",
    "Periods with a purchase after the customer's first period (0 if none).",
    lifted=True,
)
_PRECENCY = Arg(
    "recency", "The last period with a purchase, counted from the first (0 if none).", lifted=True
)
_PERIODS = Arg("periods", "Whole periods observed after the first period (n).", lifted=True)
_BGBB_ARGS = (
    Arg("alpha", "BG/BB alpha (from BGBB_FIT)."),
    Arg("beta", "BG/BB beta (from BGBB_FIT)."),
    Arg("gamma", "BG/BB gamma (from BGBB_FIT)."),
    Arg("delta", "BG/BB delta (from BGBB_FIT)."),
)


@excel_function(
    "BGBB_FIT",
    twin="retention_xl.core.models.BetaGeoBetaBinom.fit",
    category=_MODELS,
    help=(
        "Fits the BG/BB model of purchases in discrete periods (e.g. years) by maximum "
        "likelihood; spills alpha, beta, gamma, delta and the log-likelihood with a header. "
        "One row per customer, or per history with a count."
    ),
    args=(
        Arg(_PFREQ.name, _PFREQ.doc),
        Arg(_PRECENCY.name, _PRECENCY.doc),
        Arg(_PERIODS.name, _PERIODS.doc),
        Arg(
            "weights",
            "Customers with each row's history (leave out for one row per customer).",
            optional=True,
        ),
    ),
    example="=BGBB_FIT(Donors!A2:A23, Donors!B2:B23, Donors!C2:C23, Donors!D2:D23)",
    example_result=(
        "a table: parameter, value, se, lower_95, upper_95 (alpha, beta, gamma, delta, "
        "log_likelihood)"
    ),
    spills=True,
)
def BGBB_FIT(frequency: object, recency: object, periods: object, weights: object = None) -> object:
    from retention_xl.core.models import BetaGeoBetaBinom

    columns_in: dict[str, tuple[object, convert.Kind]] = {
        "frequency": (frequency, "number"),
        "recency": (recency, "number"),
        "periods": (periods, "number"),
    }
    counted = not _blank_range(weights)
    if counted:
        columns_in["weights"] = (weights, "number")
    data = convert.aligned(columns_in)
    if len(data["frequency"]) == 0:
        raise NotEnoughDataError("frequency has no customers", argument="frequency")
    columns = tuple(data[name] for name in ("frequency", "recency", "periods"))
    if counted:
        w = data["weights"]
        return _fit_cached(
            "BGBB_W", (*columns, w), lambda: BetaGeoBetaBinom().fit(*columns, weights=w)
        )
    return _fit_cached("BGBB", columns, lambda: BetaGeoBetaBinom().fit(*columns))


@excel_function(
    "BGBB_PALIVE",
    twin="retention_xl.core.models.BetaGeoBetaBinom.p_alive",
    category=_MODELS,
    help=(
        "Probability that a customer is still active in the next period under BG/BB, from "
        "frequency, recency and periods (in periods) and the fitted alpha, beta, gamma, "
        "delta; ranges spill one value per customer."
    ),
    args=(_PFREQ, _PRECENCY, _PERIODS, *_BGBB_ARGS),
    example="=BGBB_PALIVE(3, 5, 6, 1.204, 0.750, 0.657, 2.783)",
    example_result="≈ 0.7667",
)
def BGBB_PALIVE(
    frequency: object,
    recency: object,
    periods: object,
    alpha: object,
    beta: object,
    gamma: object,
    delta: object,
) -> object:
    from retention_xl.core.models import BetaGeoBetaBinom

    model = BetaGeoBetaBinom.from_params(**_params(_BGBB_PARAMS, (alpha, beta, gamma, delta)))
    return _lifted_rows(
        model.p_alive, (frequency, "frequency"), (recency, "recency"), (periods, "periods")
    )


@excel_function(
    "BGBB_PREDICT_PURCHASES",
    twin="retention_xl.core.models.BetaGeoBetaBinom.expected_purchases",
    category=_MODELS,
    help=(
        "Expected periods with a purchase in the next t periods under BG/BB, given a "
        "customer's frequency, recency, periods and the fitted alpha, beta, gamma, delta; "
        "ranges spill one per customer."
    ),
    args=(
        Arg("t", "Horizon: a whole number of future periods (e.g. 5).", lifted=True),
        _PFREQ,
        _PRECENCY,
        _PERIODS,
        *_BGBB_ARGS,
    ),
    example="=BGBB_PREDICT_PURCHASES(5, 3, 5, 6, 1.204, 0.750, 0.657, 2.783)",
    example_result="≈ 1.804",
)
def BGBB_PREDICT_PURCHASES(
    t: object,
    frequency: object,
    recency: object,
    periods: object,
    alpha: object,
    beta: object,
    gamma: object,
    delta: object,
) -> object:
    from retention_xl.core.models import BetaGeoBetaBinom

    model = BetaGeoBetaBinom.from_params(**_params(_BGBB_PARAMS, (alpha, beta, gamma, delta)))
    return _lifted_rows(
        model.expected_purchases,
        (t, "t"),
        (frequency, "frequency"),
        (recency, "recency"),
        (periods, "periods"),
    )


@excel_function(
    "GG_FIT",
    twin="retention_xl.core.models.GammaGamma.fit",
    category=_MODELS,
    help=(
        "Fits the Gamma-Gamma spend model on repeat buyers; spills p, q, gamma and the "
        "log-likelihood with a header. Customers with frequency 0 are ignored."
    ),
    args=(
        Arg("frequency", "Repeat purchases of each customer (rows with 0 are ignored)."),
        Arg(
            "avg_value",
            "Mean value of each customer's repeat purchases (blank or 0 when frequency is 0).",
        ),
    ),
    example="=GG_FIT(Customers!B2:B900, Customers!E2:E900)",
    example_result=(
        "a table: parameter, value, se, lower_95, upper_95 (p, q, gamma, log_likelihood)"
    ),
    spills=True,
)
def GG_FIT(frequency: object, avg_value: object) -> object:
    from retention_xl.core.models import GammaGamma

    x = convert.as_float_or_grid(frequency, "frequency")
    m = convert.as_float_or_grid(avg_value, "avg_value")
    xs = np.atleast_1d(np.asarray(x, dtype=np.float64)).reshape(-1)
    ms = np.atleast_1d(np.asarray(m, dtype=np.float64)).reshape(-1)
    if xs.size != ms.size:
        raise InputError(
            f"frequency and avg_value must have the same number of cells, got {xs.size} and "
            f"{ms.size}",
            argument="avg_value",
        )
    keep = np.isfinite(xs)
    xs, ms = xs[keep], ms[keep]
    return _fit_cached("GG", (xs, ms), lambda: GammaGamma().fit(xs, ms))


@excel_function(
    "PREDICT_CLV",
    twin="retention_xl.core.models.predict_clv",
    category=_MODELS,
    help=(
        "Predicted CLV over a horizon: BG/NBD purchases x Gamma-Gamma spend x margin, "
        "monthly cash flows discounted at a yearly rate; ranges spill one per customer."
    ),
    args=(
        _FREQ,
        _RECENCY,
        _AGE,
        Arg("avg_value", "Mean value of the repeat purchases (blank if none).", lifted=True),
        *_BG_ARGS,
        Arg("p", "Gamma-Gamma p (from GG_FIT)."),
        Arg("q", "Gamma-Gamma q (from GG_FIT)."),
        Arg("gamma", "Gamma-Gamma gamma (from GG_FIT)."),
        Arg(
            "horizon",
            "Horizon in the time unit of age (default 52: a year in weeks).",
            optional=True,
            default="52",
        ),
        Arg("margin", "Gross margin 0..1 (default 1).", optional=True, default="1"),
        Arg(
            "discount_rate",
            "Yearly discount rate (default 0.1 = 10 %).",
            optional=True,
            default="0.1",
        ),
        Arg(
            "periods_per_year",
            "Time units in a year (default 52 for weeks; 365 for days).",
            optional=True,
            default="52",
        ),
    ),
    example="=PREDICT_CLV(2, 30.43, 38.86, 22.35, 0.243, 4.414, 0.793, 2.426, 6.25, 3.74, 15.44)",
    example_result="≈ 36.65",
)
def PREDICT_CLV(
    frequency: object,
    recency: object,
    age: object,
    avg_value: object,
    r: object,
    alpha: object,
    a: object,
    b: object,
    p: object,
    q: object,
    gamma: object,
    horizon: object = None,
    margin: object = None,
    discount_rate: object = None,
    periods_per_year: object = None,
) -> object:
    from retention_xl.core.models import BetaGeo, GammaGamma, predict_clv

    transactions = BetaGeo.from_params(**_params(_BGNBD_PARAMS, (r, alpha, a, b)))
    spend = GammaGamma.from_params(**_params(_GG_PARAMS, (p, q, gamma)))
    options = {
        "horizon": convert.number(horizon, "horizon", default=52.0),
        "margin": convert.number(margin, "margin", default=1.0),
        "discount_rate": convert.number(discount_rate, "discount_rate", default=0.1),
        "periods_per_year": convert.number(periods_per_year, "periods_per_year", default=52.0),
    }
    # A customer without repeat purchases has no mean repeat spend: a blank is fine.
    x_grid = convert.as_float_or_grid(frequency, "frequency")
    m_grid = convert.as_float_or_grid(avg_value, "avg_value")
    m_filled = np.where(np.isnan(m_grid) & (np.asarray(x_grid) == 0), 0.0, m_grid)
    value = float(m_filled) if np.ndim(m_filled) == 0 else m_filled

    def core(x: Any, tx: Any, t: Any, m: Any) -> Any:
        return predict_clv(transactions, spend, x, tx, t, np.where(x > 0, m, np.nan), **options)

    return _lifted_rows(
        core, (x_grid, "frequency"), (recency, "recency"), (age, "age"), (value, "avg_value")
    )


# ------------------------------------------------------------------ intervals (BG/NBD)

_LEVEL = Arg(
    "level",
    "Level of the intervals, between 0 and 1 (default 0.9 for 90 %).",
    optional=True,
    default="0.9",
)
_HORIZON = Arg(
    "horizon",
    "Horizon in the time unit of age (default 52: a year in weeks).",
    optional=True,
    default="52",
)
_SPEND_ARGS = (
    Arg(
        "avg_value", "Mean value of each customer's repeat purchases (blank if none).", lifted=True
    ),
    _HORIZON,
    Arg("margin", "Gross margin 0..1 (default 1).", optional=True, default="1"),
    Arg(
        "discount_rate", "Yearly discount rate (default 0.1 = 10 %).", optional=True, default="0.1"
    ),
    Arg(
        "periods_per_year",
        "Time units in a year (default 52 for weeks; 365 for days).",
        optional=True,
        default="52",
    ),
)


#: Interval results (one row per customer) by a hash of their inputs, as the fits: a
#: recalculation with the same ranges does not draw again, and BGNBD_CLV_INTERVAL and
#: BGNBD_TOTALS over the same ranges share one computation. Few: they are large.
_RESULT_CACHE: OrderedDict[tuple[str, bytes], Any] = OrderedDict()
RESULT_CACHE_SIZE = 8


def _memo(
    kind: str,
    arrays: Sequence[Any],
    compute: Callable[[], Any],
    *,
    results: bool = False,
) -> Any:
    """``compute()``, remembered by ``kind`` and the bytes of ``arrays``: fitted models
    in the fit cache, interval results (``results``) in their own smaller one."""
    cache, size = (_RESULT_CACHE, RESULT_CACHE_SIZE) if results else (_FIT_CACHE, FIT_CACHE_SIZE)
    digest = hashlib.sha1(kind.encode(), usedforsecurity=False)
    for array in arrays:
        a = np.ascontiguousarray(np.asarray(array, dtype=np.float64))
        digest.update(str(a.shape).encode())
        digest.update(a.tobytes())
    key = (kind, digest.digest())
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    value = compute()
    cache[key] = value
    while len(cache) > size:
        cache.popitem(last=False)
    return value


def _customer_rows(
    frequency: object, recency: object, age: object, age_name: str = "age"
) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """The customers of the ranges (blank rows left out, checked as BGNBD_FIT checks
    them) and which cells of the ranges they are, to spill results in line.
    ``age_name`` names the third range in messages (``periods`` for BG/BB)."""
    data = _history(frequency, recency, age, age_name)
    grids = [
        np.atleast_1d(np.asarray(convert.as_float_or_grid(v, n), dtype=np.float64)).reshape(-1)
        for v, n in ((frequency, "frequency"), (recency, "recency"), (age, age_name))
    ]
    keep = np.isfinite(grids[0]) & np.isfinite(grids[1]) & np.isfinite(grids[2])
    return data["frequency"], data["recency"], data[age_name], keep


def _in_line(keep: npt.NDArray[np.bool_], block: FloatArray) -> object:
    """``block`` (one row per customer) spilled one row per cell of the ranges, blank
    where the ranges are blank."""
    out = np.full((keep.size, block.shape[1]), np.nan)
    out[keep] = block
    return convert.to_excel(out)


def _bgnbd(x: FloatArray, tx: FloatArray, t: FloatArray) -> Any:
    from retention_xl.core.models import BetaGeo

    return _memo("BGNBD_MODEL", (x, tx, t), lambda: BetaGeo().fit(x, tx, t))


def _level(value: object) -> float:
    from retention_xl.core.models.intervals import check_level

    return check_level(convert.number(value, "level", default=0.9))


def _spend_inputs(
    avg_value: object, x: FloatArray, keep: npt.NDArray[np.bool_], options: Sequence[object]
) -> tuple[FloatArray, dict[str, float]]:
    m_grid = np.atleast_1d(
        np.asarray(convert.as_float_or_grid(avg_value, "avg_value"), dtype=np.float64)
    ).reshape(-1)
    if m_grid.size != keep.size:
        raise InputError(
            f"avg_value must have as many cells as frequency ({keep.size}), got {m_grid.size}",
            argument="avg_value",
        )
    m = m_grid[keep]
    m = np.where(x > 0, m, np.nan)  # a one-time buyer has no mean repeat spend
    horizon, margin, discount_rate, periods_per_year = options
    settings = {
        "horizon": convert.number(horizon, "horizon", default=52.0),
        "margin": convert.number(margin, "margin", default=1.0),
        "discount_rate": convert.number(discount_rate, "discount_rate", default=0.1),
        "periods_per_year": convert.number(periods_per_year, "periods_per_year", default=52.0),
    }
    return m, settings


def _clv_intervals(
    frequency: object,
    recency: object,
    age: object,
    avg_value: object,
    options: Sequence[object],
    level: object,
) -> tuple[Any, npt.NDArray[np.bool_]]:
    from retention_xl.core.models import GammaGamma, predict_intervals

    x, tx, t, keep = _customer_rows(frequency, recency, age)
    m, settings = _spend_inputs(avg_value, x, keep, options)
    lvl = _level(level)
    bg = _bgnbd(x, tx, t)
    m0 = np.nan_to_num(m)
    gg = _memo("GG_MODEL", (x, m0), lambda: GammaGamma().fit(x, m))
    key = (x, tx, t, m0, list(settings.values()), [lvl])
    result = _memo(
        "BGNBD_CLV",
        key,
        lambda: predict_intervals(
            bg,
            gg,
            x,
            tx,
            t,
            m,
            level=lvl,
            horizon=settings["horizon"],
            margin=settings["margin"],
            discount_rate=settings["discount_rate"],
            periods_per_year=settings["periods_per_year"],
        ),
        results=True,
    )
    return result, keep


@excel_function(
    "BGNBD_PALIVE_INTERVAL",
    twin="retention_xl.core.models.predict_intervals",
    category=_MODELS,
    help=(
        "Fits BG/NBD on the customers given and spills, per customer, the probability "
        "of being alive with its interval (value, low, high) from the uncertainty of the "
        "fitted parameters (500 draws, seeded)."
    ),
    args=(*_FIT_ARGS, _LEVEL),
    example="=BGNBD_PALIVE_INTERVAL(Customers!B2:B900, Customers!C2:C900, Customers!D2:D900)",
    example_result="three columns per customer: p_alive, low, high",
    spills=True,
)
def BGNBD_PALIVE_INTERVAL(
    frequency: object, recency: object, age: object, level: object = None
) -> object:
    from retention_xl.core.models import predict_intervals

    x, tx, t, keep = _customer_rows(frequency, recency, age)
    lvl = _level(level)
    model = _bgnbd(x, tx, t)
    result = _memo(
        "BGNBD_PALIVE",
        (x, tx, t, [lvl]),
        lambda: predict_intervals(model, None, x, tx, t, horizon=0.0, level=lvl),
        results=True,
    )
    return _in_line(keep, result.customers[["p_alive", "p_alive_low", "p_alive_high"]].to_numpy())


@excel_function(
    "BGNBD_PURCHASES_INTERVAL",
    twin="retention_xl.core.models.predict_intervals",
    category=_MODELS,
    help=(
        "Fits BG/NBD on the customers given and spills, per customer, the expected "
        "repeat purchases in the next t periods with the interval of that expectation "
        "(value, low, high) from the uncertainty of the fitted parameters."
    ),
    args=(
        Arg("t", "Horizon, in the time unit of age (e.g. 52 weeks)."),
        *_FIT_ARGS,
        _LEVEL,
    ),
    example=(
        "=BGNBD_PURCHASES_INTERVAL(52, Customers!B2:B900, Customers!C2:C900, Customers!D2:D900)"
    ),
    example_result="three columns per customer: expected purchases, low, high",
    spills=True,
)
def BGNBD_PURCHASES_INTERVAL(
    t: object, frequency: object, recency: object, age: object, level: object = None
) -> object:
    from retention_xl.core.models import predict_intervals

    horizon = convert.number(t, "t")
    x, tx, ages, keep = _customer_rows(frequency, recency, age)
    lvl = _level(level)
    model = _bgnbd(x, tx, ages)
    result = _memo(
        "BGNBD_PURCHASES",
        (x, tx, ages, [horizon, lvl]),
        lambda: predict_intervals(model, None, x, tx, ages, horizon=horizon, level=lvl),
        results=True,
    )
    columns = ["expected_purchases", "expected_purchases_low", "expected_purchases_high"]
    return _in_line(keep, result.customers[columns].to_numpy())


@excel_function(
    "BGNBD_PURCHASES_PI",
    twin="retention_xl.core.models.purchases_prediction_interval",
    category=_MODELS,
    help=(
        "Fits BG/NBD on the customers given and spills, per customer, the prediction "
        "interval (low, high) of the number of repeat purchases they will make in the "
        "next t periods: it holds with probability level at least."
    ),
    args=(
        Arg("t", "Horizon, in the time unit of age (e.g. 52 weeks)."),
        *_FIT_ARGS,
        _LEVEL,
    ),
    example="=BGNBD_PURCHASES_PI(52, Customers!B2:B900, Customers!C2:C900, Customers!D2:D900)",
    example_result="two columns per customer: low, high (whole numbers of purchases)",
    spills=True,
)
def BGNBD_PURCHASES_PI(
    t: object, frequency: object, recency: object, age: object, level: object = None
) -> object:
    from retention_xl.core.models import purchases_prediction_interval

    horizon = convert.number(t, "t")
    x, tx, ages, keep = _customer_rows(frequency, recency, age)
    lvl = _level(level)
    model = _bgnbd(x, tx, ages)
    low, high = purchases_prediction_interval(model, horizon, x, tx, ages, level=lvl)
    return _in_line(keep, np.column_stack([low, high]))


@excel_function(
    "BGNBD_CLV_INTERVAL",
    twin="retention_xl.core.models.predict_intervals",
    category=_MODELS,
    help=(
        "Fits BG/NBD and Gamma-Gamma on the customers given and spills, per customer, "
        "the predicted CLV (as PREDICT_CLV) with its interval (value, low, high) from "
        "the uncertainty of both models' parameters."
    ),
    args=(*_FIT_ARGS, *_SPEND_ARGS, _LEVEL),
    example=(
        "=BGNBD_CLV_INTERVAL(Customers!B2:B900, Customers!C2:C900, Customers!D2:D900, "
        "Customers!E2:E900)"
    ),
    example_result="three columns per customer: predicted CLV, low, high",
    spills=True,
)
def BGNBD_CLV_INTERVAL(
    frequency: object,
    recency: object,
    age: object,
    avg_value: object,
    horizon: object = None,
    margin: object = None,
    discount_rate: object = None,
    periods_per_year: object = None,
    level: object = None,
) -> object:
    result, keep = _clv_intervals(
        frequency,
        recency,
        age,
        avg_value,
        (horizon, margin, discount_rate, periods_per_year),
        level,
    )
    columns = ["predicted_clv", "predicted_clv_low", "predicted_clv_high"]
    return _in_line(keep, result.customers[columns].to_numpy())


@excel_function(
    "BGNBD_TOTALS",
    twin="retention_xl.core.models.predict_totals",
    category=_MODELS,
    help=(
        "Spills the totals of all customers over the horizon with their intervals: "
        "expected purchases, purchases (prediction interval), revenue and CLV, each "
        "interval taken over the totals of 500 parameter draws."
    ),
    args=(*_FIT_ARGS, *_SPEND_ARGS, _LEVEL),
    example=(
        "=BGNBD_TOTALS(Customers!B2:B900, Customers!C2:C900, Customers!D2:D900, Customers!E2:E900)"
    ),
    example_result=(
        "a table: total, value, low, high (expected_purchases, purchases, revenue, predicted_clv)"
    ),
    spills=True,
)
def BGNBD_TOTALS(
    frequency: object,
    recency: object,
    age: object,
    avg_value: object,
    horizon: object = None,
    margin: object = None,
    discount_rate: object = None,
    periods_per_year: object = None,
    level: object = None,
) -> object:
    result, _ = _clv_intervals(
        frequency,
        recency,
        age,
        avg_value,
        (horizon, margin, discount_rate, periods_per_year),
        level,
    )
    return convert.table(result.totals.reset_index(), ["total", "value", "low", "high"])


# ------------------------------------------------- intervals (MBG/NBD and BG/BB)


def _companion_rows(
    model: str, frequency: object, recency: object, third: object
) -> tuple[Any, FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """The fitted model (MBG/NBD or BG/BB, from the fit cache) and the ranges'
    customers, as :func:`_customer_rows` gives them."""
    from retention_xl.core.models import BetaGeoBetaBinom, ModifiedBetaGeo

    x, tx, t, keep = _customer_rows(
        frequency, recency, third, "periods" if model == "BGBB" else "age"
    )
    if model == "BGBB":
        fitted = _memo("BGBB_MODEL", (x, tx, t), lambda: BetaGeoBetaBinom().fit(x, tx, t))
    else:
        fitted = _memo("MBGNBD_MODEL", (x, tx, t), lambda: ModifiedBetaGeo().fit(x, tx, t))
    return fitted, x, tx, t, keep


def _companion_interval(
    model: str,
    what: str,
    t: object,
    frequency: object,
    recency: object,
    third: object,
    level: object,
) -> object:
    """P(alive) (``what="p_alive"``) or the expected purchases in the next ``t``
    (``"expected_purchases"``) with their interval, spilled per customer."""
    from retention_xl.core.models import predict_intervals

    horizon = 0.0 if what == "p_alive" else convert.number(t, "t")
    fitted, x, tx, ages, keep = _companion_rows(model, frequency, recency, third)
    lvl = _level(level)
    result = _memo(
        f"{model}_{what}",
        (x, tx, ages, [horizon, lvl]),
        lambda: predict_intervals(fitted, None, x, tx, ages, horizon=horizon, level=lvl),
        results=True,
    )
    columns = [what, f"{what}_low", f"{what}_high"]
    return _in_line(keep, result.customers[columns].to_numpy())


def _companion_pi(
    model: str, t: object, frequency: object, recency: object, third: object, level: object
) -> object:
    from retention_xl.core.models import purchases_prediction_interval

    horizon = convert.number(t, "t")
    fitted, x, tx, ages, keep = _companion_rows(model, frequency, recency, third)
    low, high = purchases_prediction_interval(fitted, horizon, x, tx, ages, level=_level(level))
    return _in_line(keep, np.column_stack([low, high]))


@excel_function(
    "MBGNBD_PALIVE_INTERVAL",
    twin="retention_xl.core.models.predict_intervals",
    category=_MODELS,
    help=(
        "Fits MBG/NBD on the customers given and spills, per customer, the probability "
        "of being alive with its interval (value, low, high) from the uncertainty of the "
        "fitted parameters (500 draws, seeded)."
    ),
    args=(*_FIT_ARGS, _LEVEL),
    example="=MBGNBD_PALIVE_INTERVAL(Customers!B2:B900, Customers!C2:C900, Customers!D2:D900)",
    example_result="three columns per customer: p_alive, low, high",
    spills=True,
)
def MBGNBD_PALIVE_INTERVAL(
    frequency: object, recency: object, age: object, level: object = None
) -> object:
    return _companion_interval("MBGNBD", "p_alive", None, frequency, recency, age, level)


@excel_function(
    "MBGNBD_PURCHASES_INTERVAL",
    twin="retention_xl.core.models.predict_intervals",
    category=_MODELS,
    help=(
        "Fits MBG/NBD on the customers given and spills, per customer, the expected "
        "repeat purchases in the next t periods with their interval (value, low, high) "
        "from the uncertainty of the fitted parameters."
    ),
    args=(Arg("t", "Horizon, in the time unit of age (e.g. 52 weeks)."), *_FIT_ARGS, _LEVEL),
    example=(
        "=MBGNBD_PURCHASES_INTERVAL(52, Customers!B2:B900, Customers!C2:C900, Customers!D2:D900)"
    ),
    example_result="three columns per customer: expected purchases, low, high",
    spills=True,
)
def MBGNBD_PURCHASES_INTERVAL(
    t: object, frequency: object, recency: object, age: object, level: object = None
) -> object:
    return _companion_interval("MBGNBD", "expected_purchases", t, frequency, recency, age, level)


@excel_function(
    "MBGNBD_PURCHASES_PI",
    twin="retention_xl.core.models.purchases_prediction_interval",
    category=_MODELS,
    help=(
        "Fits MBG/NBD on the customers given and spills, per customer, the prediction "
        "interval (low, high) of the number of repeat purchases they will make in the "
        "next t periods: it holds with probability level at least."
    ),
    args=(Arg("t", "Horizon, in the time unit of age (e.g. 52 weeks)."), *_FIT_ARGS, _LEVEL),
    example="=MBGNBD_PURCHASES_PI(52, Customers!B2:B900, Customers!C2:C900, Customers!D2:D900)",
    example_result="two columns per customer: low, high (whole numbers of purchases)",
    spills=True,
)
def MBGNBD_PURCHASES_PI(
    t: object, frequency: object, recency: object, age: object, level: object = None
) -> object:
    return _companion_pi("MBGNBD", t, frequency, recency, age, level)


_BGBB_FIT_ARGS = tuple(Arg(a.name, a.doc) for a in (_PFREQ, _PRECENCY, _PERIODS))


@excel_function(
    "BGBB_PALIVE_INTERVAL",
    twin="retention_xl.core.models.predict_intervals",
    category=_MODELS,
    help=(
        "Fits BG/BB on the customers given (in periods) and spills, per customer, the "
        "probability of being active in the next period with its interval (value, low, "
        "high) from the uncertainty of the fitted parameters (500 draws, seeded)."
    ),
    args=(*_BGBB_FIT_ARGS, _LEVEL),
    example="=BGBB_PALIVE_INTERVAL(Customers!B2:B900, Customers!C2:C900, Customers!D2:D900)",
    example_result="three columns per customer: p_alive, low, high",
    spills=True,
)
def BGBB_PALIVE_INTERVAL(
    frequency: object, recency: object, periods: object, level: object = None
) -> object:
    return _companion_interval("BGBB", "p_alive", None, frequency, recency, periods, level)


@excel_function(
    "BGBB_PURCHASES_INTERVAL",
    twin="retention_xl.core.models.predict_intervals",
    category=_MODELS,
    help=(
        "Fits BG/BB on the customers given (in periods) and spills, per customer, the "
        "expected periods with a purchase in the next t periods with their interval "
        "(value, low, high) from the uncertainty of the fitted parameters."
    ),
    args=(
        Arg("t", "Horizon in periods (a fraction of a period counts pro rata)."),
        *_BGBB_FIT_ARGS,
        _LEVEL,
    ),
    example=(
        "=BGBB_PURCHASES_INTERVAL(5, Customers!B2:B900, Customers!C2:C900, Customers!D2:D900)"
    ),
    example_result="three columns per customer: expected purchases, low, high",
    spills=True,
)
def BGBB_PURCHASES_INTERVAL(
    t: object, frequency: object, recency: object, periods: object, level: object = None
) -> object:
    return _companion_interval("BGBB", "expected_purchases", t, frequency, recency, periods, level)


@excel_function(
    "BGBB_PURCHASES_PI",
    twin="retention_xl.core.models.purchases_prediction_interval",
    category=_MODELS,
    help=(
        "Fits BG/BB on the customers given (in periods) and spills, per customer, the "
        "prediction interval (low, high) of the number of periods with a purchase in the "
        "next t periods: it holds with probability level at least."
    ),
    args=(
        Arg("t", "Horizon in periods (a fraction of a period counts pro rata)."),
        *_BGBB_FIT_ARGS,
        _LEVEL,
    ),
    example="=BGBB_PURCHASES_PI(5, Customers!B2:B900, Customers!C2:C900, Customers!D2:D900)",
    example_result="two columns per customer: low, high (whole numbers of periods)",
    spills=True,
)
def BGBB_PURCHASES_PI(
    t: object, frequency: object, recency: object, periods: object, level: object = None
) -> object:
    return _companion_pi("BGBB", t, frequency, recency, periods, level)


@excel_function(
    "SBG_FIT",
    twin="retention_xl.core.models.ShiftedBetaGeometric.fit",
    category=_MODELS,
    help=(
        "Fits the shifted-beta-geometric retention model to a cohort's survivors at "
        "periods 0, 1, 2...; spills alpha, beta and the log-likelihood with a header."
    ),
    args=(
        Arg(
            "survivors",
            "Customers (or shares) still active at the start and after each period, in order.",
        ),
    ),
    example="=SBG_FIT({1000, 631, 468, 382, 326, 289, 262, 241})",
    example_result=(
        "a table: parameter, value, se, lower_95, upper_95 (alpha, beta, log_likelihood)"
    ),
    spills=True,
)
def SBG_FIT(survivors: object) -> object:
    from retention_xl.core.models import ShiftedBetaGeometric

    counts = convert.numbers(survivors, "survivors")
    return _fit_cached("SBG", (counts,), lambda: ShiftedBetaGeometric().fit(counts))


@excel_function(
    "SBG_RETENTION",
    twin="retention_xl.core.models.ShiftedBetaGeometric.projection",
    category=_MODELS,
    help=(
        "Spills the projected survival curve of the sBG model: period, share of the "
        "cohort still active, retention rate of the period, for periods 0..periods."
    ),
    args=(
        Arg("alpha", "sBG alpha (from SBG_FIT)."),
        Arg("beta", "sBG beta (from SBG_FIT)."),
        Arg("periods", "Last period to project (e.g. 12)."),
    ),
    example="=SBG_RETENTION(0.704, 1.182, 12)",
    example_result="a table: period, survival, retention_rate",
    spills=True,
)
def SBG_RETENTION(alpha: object, beta: object, periods: object) -> object:
    from retention_xl.core.models import ShiftedBetaGeometric

    model = ShiftedBetaGeometric.from_params(
        alpha=convert.number(alpha, "alpha"), beta=convert.number(beta, "beta")
    )
    last = convert.number(periods, "periods")
    if not float(last).is_integer() or not 0 <= last <= _SHEET_ROWS - 2:
        raise OutOfRangeError(
            f"periods must be a whole number from 0 to {_SHEET_ROWS - 2:,} (one row per "
            f"period must fit in a sheet), got {last!r}",
            argument="periods",
        )
    table = model.projection(int(last)).reset_index()
    return convert.table(table[["period", "survival", "retention_rate"]], list(table.columns[:3]))
