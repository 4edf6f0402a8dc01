"""Cell styles of the generated workbooks, as data (:class:`~retention_xl.workbook.plan.Style`).

Both writers use these: the builder turns each :class:`Style` into an XlsxWriter format,
refresh into an ``<xf>`` record of ``styles.xml``. Number format codes are stored the
way ``.xlsx`` files store them (``,`` thousands, ``.`` decimals); Excel and LibreOffice
show them in the reader's locale, so ``#,##0.00`` reads ``1.234,56`` in Italy.

The currency format depends on ``--currency``: :func:`currency_format` puts the symbol
of the common ISO codes (``EUR`` -> ``€``) where readers of the language expect it.

Examples
--------
>>> make_styles("USD", "en")["currency"].num_format
'"$"#,##0.00'
>>> make_styles("EUR", "it")["currency"].num_format
'#,##0.00 "€"'
>>> sorted(STYLES)[:3]
['bad', 'cohort', 'count']
"""

from __future__ import annotations

from typing import Final

from retention_xl.errors import InputError
from retention_xl.workbook.plan import Style

__all__ = ["CURRENCY_SYMBOLS", "STYLES", "currency_format", "make_styles"]

#: Symbols of the currencies users are likely to report in; others show their ISO code.
CURRENCY_SYMBOLS: Final = {
    "EUR": "€",
    "USD": "$",
    "GBP": "£",
    "JPY": "¥",
    "CHF": "CHF",
    "SEK": "kr",
    "NOK": "kr",
    "DKK": "kr",
    "PLN": "zł",
    "CAD": "CA$",
    "AUD": "A$",
}
_NO_DECIMALS: Final = frozenset({"JPY", "KRW", "HUF", "ISK"})

# Colours (a calm palette; traffic lights for ratings).
INPUT_FILL: Final = "#FFF2CC"
HEADER_FILL: Final = "#1F4E78"
GOOD: Final = "#C6EFCE"
FAIR: Final = "#FFEB9C"
BAD: Final = "#FFC7CE"
BEST: Final = "#63BE7B"
TILE: Final = "#F2F2F2"


def currency_format(currency: str, lang: str = "en") -> str:
    """The Excel number format of amounts in ``currency`` (an ISO 4217 code).

    English puts the symbol before the number, Italian after it (``1.234,56 €``).

    >>> currency_format("JPY")
    '"¥"#,##0'
    >>> currency_format("BRL")
    '#,##0.00 "BRL"'
    """
    if (
        not isinstance(currency, str)
        or not currency.strip().isalpha()
        or len(currency.strip()) != 3
    ):
        raise InputError(
            f"currency must be a three-letter ISO code such as EUR or USD, got {currency!r}",
            argument="currency",
        )
    code = currency.strip().upper()
    number = "#,##0" if code in _NO_DECIMALS else "#,##0.00"
    symbol = CURRENCY_SYMBOLS.get(code)
    if symbol is None:
        return f'{number} "{code}"'
    if lang == "it" or (len(symbol) > 1 and symbol.isalpha()):
        return f'{number} "{symbol}"'
    return f'"{symbol}"{number}'


def make_styles(currency: str = "EUR", lang: str = "en") -> dict[str, Style]:
    """Every style key the sheets use, with the currency format of ``currency``."""
    money = currency_format(currency, lang)
    date = "yyyy-mm-dd"
    points = "p.p." if lang == "it" else "pt"  # percentage points
    return {
        # text
        "title": Style(bold=True, font_size=16, font_color=HEADER_FILL),
        "subtitle": Style(bold=True, font_size=12, font_color=HEADER_FILL),
        "note": Style(italic=True, font_color="#595959"),
        "wrap": Style(wrap=True),
        "text": Style(),
        "label": Style(bold=True),
        "label_wrap": Style(bold=True, wrap=True),
        "header": Style(bold=True, font_color="#FFFFFF", bg_color=HEADER_FILL, wrap=True),
        "bad": Style(bg_color=BAD),
        # numbers
        "count": Style(num_format="#,##0"),
        "number": Style(num_format="#,##0.00"),
        "decimal": Style(num_format="0.000"),
        "percent": Style(num_format="0.0%"),
        "currency": Style(num_format=money),
        "ratio": Style(num_format='0.00" : 1"'),
        "score": Style(num_format="+0.0;-0.0;0.0"),
        "years": Style(num_format="0.00"),
        "date": Style(num_format=date),
        "month": Style(num_format="yyyy-mm"),
        "cohort": Style(num_format="0%", align="center"),
        # inputs: highlighted and unlocked (the sheet may be protected by the user)
        "input_text": Style(bg_color=INPUT_FILL, border=True, locked=False),
        "input_date": Style(num_format=date, bg_color=INPUT_FILL, border=True, locked=False),
        "input_count": Style(num_format="#,##0", bg_color=INPUT_FILL, border=True, locked=False),
        "input_currency": Style(num_format=money, bg_color=INPUT_FILL, border=True, locked=False),
        "input_percent": Style(num_format="0.0%", bg_color=INPUT_FILL, border=True, locked=False),
        "input_ratio": Style(
            num_format='0.00" : 1"', bg_color=INPUT_FILL, border=True, locked=False
        ),
        "input_score": Style(num_format="+0;-0;0", bg_color=INPUT_FILL, border=True, locked=False),
        # dashboard tiles: a grey card (the value's colour is its rating, by CF)
        "tile_label": Style(
            bold=True, font_color="#595959", align="center", wrap=True, bg_color=TILE
        ),
        "tile_count": _tile("#,##0"),
        "tile_currency": _tile(money),
        "tile_percent": _tile("0.0%"),
        "tile_ratio": _tile('0.00" : 1"'),
        "tile_score": _tile("+0.0;-0.0;0.0"),
        "tile_years": _tile("0.00"),
        "tile_number": _tile("#,##0.00"),
        "tile_spark": Style(bg_color=TILE),
        # the change against the previous period: the arrow comes from the sign
        "delta_rel": _delta('"▲ "0.0%;"▼ "0.0%;"= "0.0%'),
        "delta_pt": _delta(f'"▲ "0.0" {points}";"▼ "0.0" {points}";"= "0.0" {points}"'),
        "delta_ratio": _delta('"▲ "0.00;"▼ "0.00;"= "0.00'),
        "delta_score": _delta('"▲ "0.0;"▼ "0.0;"= "0.0'),
        "note_right": Style(italic=True, font_color="#595959", align="right"),
        "progress": Style(num_format="0.0%", font_color="#595959", italic=False),
    }


def _tile(num_format: str) -> Style:
    return Style(num_format=num_format, bold=True, font_size=18, align="center", bg_color=TILE)


def _delta(num_format: str) -> Style:
    return Style(
        num_format=num_format, font_size=9, align="center", font_color="#595959", bg_color=TILE
    )


#: The styles for EUR in English (refresh and tests that need a fixed set).
STYLES: Final = make_styles()
