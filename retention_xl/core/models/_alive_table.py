"""The expected purchases of a customer alive, for every group of histories and draw.

What :func:`~retention_xl.core.models.predict_intervals` spends most of its time on:
linear combinations (the *combinations*: one horizon, or the CLV's discounted monthly
steps) of :math:`A(\\tau \\mid x, T)`, the expected purchases in the next
:math:`\\tau` of a customer known to be alive, for every distinct frequency and age
``(x, T)`` (a *group*) under every parameter draw. BG/NBD's :math:`A` needs a
hypergeometric function per group, horizon and draw; :class:`AliveTable` computes it
exactly where there are few groups and interpolates it from Chebyshev nodes where
there are many:

* **Along the ages of one frequency** (a *run*): in :math:`s = \\ln(c + T)`, with
  :math:`c` half the smallest drawn :math:`\\alpha`. As a function of :math:`s`,
  :math:`A` is analytic in the strip :math:`|\\Im s| < \\pi` (its singularities, at
  :math:`\\alpha + T = 0` and :math:`\\alpha + T = -\\tau`, lie on :math:`\\Im s =
  \\pi`), so the error of :math:`n` nodes on an interval of half-width :math:`w`
  falls like :math:`\\rho^{-n}`, :math:`\\rho = h + \\sqrt{1 + h^2}`, :math:`h = \\pi /
  w`; ``n`` is chosen for :data:`INTERPOLATION_DIGITS` (13) digits.
* **Across frequencies and ages at once** (a *grid*, for consecutive frequencies
  whose runs would together need more nodes): on the tensor product of such nodes in
  :math:`s` and in :math:`v = \\ln(x + \\kappa)`, :math:`\\kappa` the smallest drawn
  :math:`a + b - 1` (MBG/NBD: :math:`a + b`). :math:`x` enters :math:`A` through
  :math:`c = a + b + x - 1` only, as the third parameter of
  :math:`{}_2F_1(\\cdot, \\cdot; c; z)` and a factor :math:`c`: poles at :math:`c = 0,
  -1, -2, \\dots`, which lie on :math:`\\Im v = \\pi` (or at :math:`v = -\\infty`),
  so the same strip and the same rule for the number of nodes hold in :math:`v`.
  The nodes' frequencies are not whole numbers: :math:`A` is evaluated there all
  the same.

The combinations are linear in :math:`A`, so they are interpolated, not each horizon.
Which frequencies go on a grid is chosen to minimise the hypergeometric evaluations
(nodes and exact groups), by dynamic programming over the runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np

from retention_xl.core.models._base import FloatArray

__all__ = ["INTERPOLATION_DIGITS", "AliveKernel", "AliveTable", "Combination", "nodes_for"]

#: A linear combination of expected purchases given alive: ``((tau, weight), ...)``.
Combination = tuple[tuple[float, float], ...]
#: Interpolation is used along a run with more than this many distinct ages, and 1.5
#: times as many as it needs nodes (else every age is computed exactly).
INTERPOLATE_ABOVE: Final = 24
#: Relative accuracy the number of Chebyshev nodes is chosen for.
INTERPOLATION_DIGITS: Final = 13
#: Nodes per interpolated dimension, at most and at least.
_MAX_NODES: Final = 64
_MIN_NODES: Final = 8
#: What spreading a grid's nodes to one frequency costs (a product over the grid's
#: nodes and draws), in evaluations of the hypergeometric function per node.
_SPREAD_COST: Final = 1e-3


class AliveKernel(Protocol):
    """What the table needs of a purchase model's kernel."""

    def alive_many(
        self, theta: FloatArray, gx: FloatArray, gt: FloatArray, taus: Sequence[float]
    ) -> dict[float, FloatArray]:
        """(groups, draws) expected purchases given alive, for each horizon."""
        ...


def nodes_for(low: float, high: float) -> int:
    """Chebyshev nodes for :data:`INTERPOLATION_DIGITS` digits on ``[low, high]``, for
    a function analytic in the strip :math:`|\\Im| < \\pi` around it.

    On [0, 1]: :math:`h = 2\\pi`, :math:`\\rho = 12.64`, :math:`13 \\ln 10 / \\ln\\rho =
    11.8`, so 12 + 1 nodes; on [0, 5]: :math:`\\rho = 2.863`, 28.5, so 29 + 1.

    >>> nodes_for(0.0, 1.0), nodes_for(0.0, 5.0)
    (13, 30)
    """
    half = (high - low) / 2.0
    if half <= 0.0:
        return _MIN_NODES
    h = math.pi / half
    rho = h + math.sqrt(1.0 + h * h)
    n = math.ceil(INTERPOLATION_DIGITS * math.log(10.0) / math.log(rho)) + 1
    return min(_MAX_NODES, max(_MIN_NODES, n))


def chebyshev_weights(xi: FloatArray, n: int) -> FloatArray:
    """(points, n) barycentric weights of Chebyshev points of the second kind
    :math:`\\xi_j = \\cos(\\pi j / (n-1))` at ``xi`` in [-1, 1] (rows sum to 1).

    >>> chebyshev_weights(np.array([1.0, 0.0]), 3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    nodes = np.cos(np.pi * np.arange(n) / (n - 1))
    w = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    w[0] *= 0.5
    w[-1] *= 0.5
    diff = xi[:, None] - nodes[None, :]
    hit = np.abs(diff) < 1e-14
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = w / diff
    on_node = hit.any(axis=1)
    terms[on_node] = hit[on_node].astype(np.float64)
    return np.asarray(terms / terms.sum(axis=1, keepdims=True), dtype=np.float64)


@dataclass(frozen=True)
class _Axis:
    """Chebyshev nodes in ``ln(offset + value)`` between two values."""

    offset: float
    low: float
    high: float
    n: int

    @classmethod
    def between(cls, offset: float, first: float, last: float) -> _Axis:
        low, high = math.log(offset + first), math.log(offset + last)
        return cls(offset, low, high, nodes_for(low, high))

    def nodes(self, first: float, last: float) -> FloatArray:
        """The nodes as values, the ends exactly ``last`` and ``first``."""
        xi = np.cos(np.pi * np.arange(self.n) / (self.n - 1))
        out = np.exp(self.low + (self.high - self.low) / 2.0 * (xi + 1.0)) - self.offset
        out[0], out[-1] = last, first
        return out

    def weights(self, values: FloatArray) -> FloatArray:
        where = (np.log(self.offset + values) - self.low) / ((self.high - self.low) / 2.0) - 1.0
        return chebyshev_weights(np.clip(where, -1.0, 1.0), self.n)


@dataclass(frozen=True)
class _Grid:
    """The combinations on frequency x age nodes: (frequency nodes, age nodes x
    combinations x draws)."""

    values: FloatArray
    n_ages: int


@dataclass(frozen=True)
class _Run:
    """The groups ``[start, stop)`` of one frequency. Interpolated with ``weights``
    (groups x age nodes): from ``values`` (age nodes x combinations x draws), or
    from a ``grid`` with ``frequency_weights`` (its frequency nodes at this one)."""

    start: int
    stop: int
    weights: FloatArray | None = None
    values: FloatArray | None = None
    grid: _Grid | None = None
    frequency_weights: FloatArray | None = None


class AliveTable:
    """Linear combinations of :math:`A(\\tau \\mid x, T)` for groups ``[g0, g1)`` and
    every draw (see the module's notes).

    ``gx``, ``gt`` are the groups' frequencies and ages, sorted by frequency, then
    age. ``offsets`` (from the kernel: half the smallest drawn :math:`\\alpha` and the
    smallest :math:`a + b - 1` (+1 for MBG/NBD)) allows interpolation; None computes
    every group exactly.
    """

    def __init__(
        self,
        kernel: AliveKernel,
        theta: FloatArray,
        gx: FloatArray,
        gt: FloatArray,
        combinations: Mapping[str, Combination],
        *,
        offsets: tuple[float, float] | None,
    ) -> None:
        self.kernel, self.theta, self.gx, self.gt = kernel, theta, gx, gt
        self.combinations = dict(combinations)
        starts = np.flatnonzero(np.r_[True, gx[1:] != gx[:-1]])
        stops = np.r_[starts[1:], gx.size]
        self.run_starts = starts
        self._spread: tuple[int, FloatArray] | None = None
        if offsets is None:
            self.runs = [_Run(a, b) for a, b in zip(starts.tolist(), stops.tolist(), strict=True)]
            return
        age_offset, frequency_offset = offsets
        runs = [
            self._along_ages(a, b, age_offset)
            for a, b in zip(starts.tolist(), stops.tolist(), strict=True)
        ]
        for i, j in self._grid_spans(runs, age_offset, frequency_offset):
            runs[i:j] = self._on_grid(runs[i:j], age_offset, frequency_offset)
        self.runs = [
            self._with_nodes(run, age_offset)
            if run.weights is not None and run.grid is None
            else run
            for run in runs
        ]

    def _exact(self, x: FloatArray, t: FloatArray) -> FloatArray:
        """(groups, combinations x draws): every combination, computed."""
        taus = [tau for combination in self.combinations.values() for tau, _ in combination]
        alive = self.kernel.alive_many(self.theta, x, t, taus)
        out = np.zeros((x.size, len(self.combinations), self.theta.shape[0]))
        for k, combination in enumerate(self.combinations.values()):
            for tau, weight in combination:
                out[:, k, :] += weight * alive[tau]
        return out.reshape(x.size, -1)

    def _cost(self, run: _Run) -> int:
        """Hypergeometric evaluations (per horizon and draw) of a run on its own."""
        if run.weights is None:
            return run.stop - run.start
        return int(run.weights.shape[1])

    def _along_ages(self, start: int, stop: int, offset: float) -> _Run:
        """One run interpolated along its ages when that saves evaluations (its nodes'
        values are computed by :meth:`_with_nodes` if it does not go on a grid)."""
        if stop - start <= INTERPOLATE_ABOVE:
            return _Run(start, stop)
        t = self.gt[start:stop]
        axis = _Axis.between(offset, float(t[0]), float(t[-1]))
        if axis.n * 3 > 2 * (stop - start):  # hardly fewer nodes than ages
            return _Run(start, stop)
        return _Run(start, stop, axis.weights(t))

    def _with_nodes(self, run: _Run, offset: float) -> _Run:
        t = self.gt[run.start : run.stop]
        axis = _Axis.between(offset, float(t[0]), float(t[-1]))
        node_t = axis.nodes(float(t[0]), float(t[-1]))
        values = self._exact(np.full(axis.n, self.gx[run.start]), node_t)
        return _Run(run.start, run.stop, run.weights, values)

    def _grid_spans(
        self, runs: list[_Run], age_offset: float, frequency_offset: float
    ) -> list[tuple[int, int]]:
        """Spans ``[i, j)`` of runs to put on a grid each: the cheapest split of the
        runs into runs on their own and grids (dynamic programming)."""
        n = len(runs)
        x = self.gx[self.run_starts]
        t_first = self.gt[self.run_starts]
        t_last = self.gt[np.r_[self.run_starts[1:], self.gx.size] - 1]
        cost = np.array([self._cost(run) for run in runs], dtype=np.float64)
        best = np.zeros(n + 1)
        came_from = np.full(n + 1, -1)  # -1: run j - 1 on its own; else the grid's start
        # (x + offset > 0 holds from some run on: frequencies increase)
        usable = x + frequency_offset > 0.0
        for j in range(1, n + 1):
            best[j] = best[j - 1] + cost[j - 1]
            i = np.arange(j - 1)  # grids [i, j) of two runs or more
            i = i[usable[i]]
            if i.size == 0:
                continue
            # the ages of runs i..j-1
            low_t = np.minimum.accumulate(t_first[:j][::-1])[::-1][i]
            high_t = np.maximum.accumulate(t_last[:j][::-1])[::-1][i]
            n_x = _strip_nodes(
                np.log(x[i] + frequency_offset), math.log(x[j - 1] + frequency_offset)
            )
            n_t = _strip_nodes(np.log(age_offset + low_t), np.log(age_offset + high_t))
            candidate = best[i] + n_x * n_t * (1.0 + (j - i) * _SPREAD_COST)
            candidate[high_t <= low_t] = np.inf  # one age for all: no age axis to build
            k = int(np.argmin(candidate))
            if candidate[k] < best[j]:
                best[j], came_from[j] = candidate[k], i[k]
        spans = []
        j = n
        while j > 0:
            if came_from[j] < 0:
                j -= 1
            else:
                spans.append((int(came_from[j]), j))
                j = int(came_from[j])
        return spans[::-1]

    def _on_grid(self, runs: list[_Run], age_offset: float, frequency_offset: float) -> list[_Run]:
        """Consecutive runs interpolated on one grid of frequency x age nodes."""
        start, stop = runs[0].start, runs[-1].stop
        x, t = self.gx[start:stop], self.gt[start:stop]
        x_first, x_last = float(x[0]), float(x[-1])
        t_first, t_last = float(t.min()), float(t.max())
        x_axis = _Axis.between(frequency_offset, x_first, x_last)
        t_axis = _Axis.between(age_offset, t_first, t_last)
        node_x, node_t = x_axis.nodes(x_first, x_last), t_axis.nodes(t_first, t_last)
        values = self._exact(np.repeat(node_x, t_axis.n), np.tile(node_t, x_axis.n))
        grid = _Grid(values.reshape(x_axis.n, -1), n_ages=t_axis.n)
        frequency_weights = x_axis.weights(self.gx[[run.start for run in runs]])
        return [
            _Run(
                run.start,
                run.stop,
                t_axis.weights(self.gt[run.start : run.stop]),
                grid=grid,
                frequency_weights=frequency_weights[k],
            )
            for k, run in enumerate(runs)
        ]

    def _values(self, index: int) -> FloatArray | None:
        """The age nodes' values of run ``index`` (age nodes, combinations x draws),
        or None for a run computed exactly. A grid's are spread to the run's frequency
        on first use (once per run: the chunks go through the groups in order)."""
        run = self.runs[index]
        if run.grid is None or run.frequency_weights is None:
            return run.values
        if self._spread is None or self._spread[0] != index:
            spread = np.einsum("i,ij->j", run.frequency_weights, run.grid.values)
            self._spread = (index, spread.reshape(run.grid.n_ages, -1))
        return self._spread[1]

    def block(self, g0: int, g1: int) -> dict[str, FloatArray]:
        """Every combination for groups ``[g0, g1)``: (groups, draws) each."""
        first = int(np.searchsorted(self.run_starts, g0, side="right")) - 1
        parts: list[FloatArray] = []
        pending = None  # the start of groups to compute exactly, in one go
        for index in range(first, len(self.runs)):
            run = self.runs[index]
            if run.start >= g1:
                break
            a, b = max(run.start, g0), min(run.stop, g1)
            values = self._values(index)
            if values is None or run.weights is None:
                pending = a if pending is None else pending
                continue
            if pending is not None:
                parts.append(self._exact(self.gx[pending:a], self.gt[pending:a]))
                pending = None
            rows = run.weights[a - run.start : b - run.start]
            # (einsum, not BLAS: BLAS threads cost more than these small products)
            parts.append(np.einsum("ij,jk->ik", rows, values))
        if pending is not None:
            parts.append(self._exact(self.gx[pending:g1], self.gt[pending:g1]))
        out = parts[0] if len(parts) == 1 else np.concatenate(parts)
        n = self.theta.shape[0]
        return {name: out[:, k * n : (k + 1) * n] for k, name in enumerate(self.combinations)}


def _strip_nodes(low: FloatArray | float, high: FloatArray | float) -> FloatArray:
    """:func:`nodes_for`, elementwise over arrays of interval ends."""
    half = np.maximum((np.asarray(high) - np.asarray(low)) / 2.0, 1e-12)
    h = np.pi / half
    rho = h + np.sqrt(1.0 + h * h)
    n = np.ceil(INTERPOLATION_DIGITS * np.log(10.0) / np.log(rho)) + 1.0
    return np.asarray(np.clip(n, _MIN_NODES, _MAX_NODES), dtype=np.float64)
