"""A budget, as saved in a board's spec (``BoardSpec.budgets``): at most ``amount_usd`` per day, week or
month, over the board's whole stream or over one group of it.

The group uses the board's grouping vocabulary (``monitor.boards.spec.group_field``): ``group_by`` is
"model", "status", "api" or an attribute key (dots reach into nested dicts), and ``group_value`` is the
group's label as a board shows it (strings as they are, other values as compact JSON).  Examples::

    Budget(amount_usd=5, period="day", group_by="model", group_value="gpt-4o")   # gpt-4o under $5/day
    Budget(amount_usd=1, period="day", group_by="user", group_value="alice")     # user=alice under $1/day
    Budget(amount_usd=200, period="month")                                        # the whole stream

A budget ignores the board's time range and filters: it is about money spent in the current calendar
period (the user's local time), which is what a budget means to whoever pays.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, field_validator, model_validator

PERIODS = ("day", "week", "month")
THIS_PERIOD = {"day": "today", "week": "this week", "month": "this month"}          # how the app says them
PERIOD_END = {"day": "by midnight", "week": "by Monday 00:00", "month": "by the 1st"}
MAX_BUDGETS = 20
MAX_AMOUNT_USD = 1e9


def money(amount: float) -> str:
    """$5, $0.25, $1,250 — the way a budget is written (no float noise, no scientific notation)."""
    if amount >= 100 or amount == int(amount):
        return f"${amount:,.0f}" if amount == int(amount) else f"${amount:,.2f}"
    if amount >= 0.01:
        return f"${amount:,.2f}"
    return f"${amount:.6f}".rstrip("0")


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)

    amount_usd: Annotated[FiniteFloat, Field(gt=0, le=MAX_AMOUNT_USD)]
    period: Literal["day", "week", "month"] = "day"
    group_by: Annotated[str, Field(min_length=1, max_length=220)] | None = None
    group_value: Annotated[str, Field(max_length=200)] | None = None

    @field_validator("group_by")
    @classmethod
    def _group_key(cls, v: str | None) -> str | None:
        from .spec import _check_key, group_field          # spec imports this module

        g = group_field(v)
        if g is not None and g[0] == "attribute":
            _check_key(g[1])
        return v

    @model_validator(mode="after")
    def _both_or_neither(self) -> "Budget":
        if (self.group_by is None) != (self.group_value is None):
            raise ValueError("a budget on a group needs both group_by and group_value (or neither, for the "
                             "whole stream)")
        return self

    @property
    def scope(self) -> str:
        """'whole stream' or 'model=gpt-4o'."""
        if self.group_by is None:
            return "whole stream"
        return f"{self.group_by}={self.group_value}"

    def describe(self) -> str:
        """'model=gpt-4o under $5/day'."""
        return f"{self.scope} under {money(self.amount_usd)}/{self.period}"
