"""Template and report workbooks: a plan as plain data, then an ``.xlsx`` file.

* :func:`plan_report` / :func:`plan_template` make a
  :class:`~retention_xl.workbook.plan.WorkbookPlan` (sheets by role, named inputs,
  formulas with the core's cached values, styles, charts);
* :func:`write_workbook` writes it (XlsxWriter for the package, the fast writer of
  :mod:`retention_xl.workbook.sheetxml` for the cells).

Examples
--------
>>> from retention_xl.workbook import plan_template, write_workbook
>>> plan = plan_template(lang="it")
>>> plan.sheet("ORDERS").title
'Ordini'
"""

from retention_xl.workbook.build import (
    plan_report,
    plan_report_and_data,
    plan_template,
    write_workbook,
)

__all__ = ["plan_report", "plan_report_and_data", "plan_template", "write_workbook"]
