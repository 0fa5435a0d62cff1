"""What the Experiments page asks of the store, run on the app's database lane (tasks.QueryOp):
no SQL here either — the monitor's functions do it."""
from __future__ import annotations

from typing import Any, Sequence

from monitor.experiments import CallResult, ExperimentCall, stored_matches
from monitor.scores import add_scores, scores_for, set_human_rating


def store_and_read(store: Any, stream: str, since_ts: float, calls: Sequence[ExperimentCall], experiment: str,
                   results: dict[int, CallResult]) -> list[CallResult]:
    """Store each ran cell's scores linked to its call, then return the cells as stored (numbers and scores
    read back), so what the page shows is what the store holds."""
    matched = stored_matches(store, stream, since_ts, calls, experiment)
    add_scores(store, [(record.id, s) for index, record in matched.items()
                       for s in results[index].scores.values() if s.source != "human"])
    stored = scores_for(store, [r.id for r in matched.values()])
    out = []
    for index, record in matched.items():
        old = results[index]
        out.append(CallResult(index, record.status, record.output or "", old.error or record.error,
                              record.prompt_tokens, record.completion_tokens, record.cost_usd, record.latency_ms,
                              record.id, {s.name: s for s in stored.get(record.id, [])}, old.judge_cost_usd))
    return out


def rate(store: Any, record_id: int, value: float, scale: str) -> Any:
    return set_human_rating(store, record_id, value, scale=scale)
