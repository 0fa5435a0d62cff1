"""What linking conversations costs on a big store (issue 8, item 5).

    python benchmarks/conversations.py [--calls 1000000] [--batch 5000]

Builds a store of `--calls` calls (chat with sessions and tool calls, Responses chains by
previous_response_id, plain calls; ~1 KB of request JSON each) with schema 4 — before the conversation
indexes — then measures, in one run:
- the migration that adds the indexes (store.py migration 5: it evaluates json_extract once per call);
- the insert rate of further calls with and without those indexes (the writer's cost; ratio);
- `thread_for` on a chain, a session, a tool follow-up and a call without links (median of 50 each).
Targets: thread lookups under 20 ms each on a million calls; inserts no more than 1.5x slower.
Ends with one JSON line.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor import conversations, store as store_mod          # noqa: E402
from monitor.record import Record                              # noqa: E402
from monitor.store import Store                                 # noqa: E402

FILLER = "Explain the trade-offs of prompt caching for a support bot with long system prompts. " * 8


def make(i: int, t0: float) -> Record:
    kind = i % 10
    attrs: dict = {"feature": "bench", "n": i}
    request: dict = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": FILLER},
                                                          {"role": "user", "content": f"question {i}"}]}
    response = None
    api = "chat.completions"
    if kind < 3:                                    # sessions of ~30 calls
        attrs["session"] = f"s-{i // 100}"
    elif kind < 5:                                  # Responses chains
        api = "responses"
        request = {"model": "gpt-4.1-mini", "input": f"turn {i} {FILLER}"}
        if (i // 10) % 5:                           # chains of 5 turns
            request["previous_response_id"] = f"resp_{i - 10}"
    elif kind == 5:                                 # a tool call
        response = {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [
            {"id": f"call_{i}", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}]}
    elif kind == 6:                                 # the follow-up sending its result
        request["messages"].append({"role": "tool", "tool_call_id": f"call_{i - 1}", "content": "42"})
    rid = f"resp_{i}" if api == "responses" else f"chatcmpl-{i}"
    return Record(id=None, stream="bench/conversations", timestamp=t0 + i * 0.05, latency_ms=500.0, ttft_ms=None,
                  api=api, model=request["model"], response_model=None, status="success", error=None,
                  prompt_tokens=20, completion_tokens=30, total_tokens=50, cached_tokens=0, reasoning_tokens=0,
                  usage_estimated=False, cost_usd=0.00002, streamed=False, request=request, output="ok",
                  attributes=attrs, response_id=rid, finish_reason="stop", response=response)


def old_schema():
    """Store() opens at schema 4 (no conversation indexes) inside this block."""
    class _Old:
        def __enter__(self):
            self.saved = list(store_mod.MIGRATIONS)
            store_mod.MIGRATIONS[:] = self.saved[:4]
            store_mod.SCHEMA_VERSION = 4

        def __exit__(self, *exc):
            store_mod.MIGRATIONS[:] = self.saved
            store_mod.SCHEMA_VERSION = len(self.saved)
    return _Old()


def insert_rates(tmp: Path, n: int, t0: float) -> tuple[float, float]:
    """Records/s into a store without and one with the indexes, in alternating 1,000-record batches
    (interleaved, so both see the same machine load)."""
    with old_schema():
        without = Store(tmp / "without.db")
    with_ = Store(tmp / "with.db")
    spent = {"without": 0.0, "with": 0.0}
    for k in range(0, n, 1000):
        batch = [make(i, t0) for i in range(k, k + 1000)]
        for name, s in (("without", without), ("with", with_)):
            began = time.perf_counter()
            s.insert_records(batch)
            spent[name] += time.perf_counter() - began
    without.close()
    with_.close()
    return n / spent["without"], n / spent["with"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=5000)
    args = ap.parse_args()
    t0 = 1_780_000_000.0
    tmp = Path(tempfile.mkdtemp())
    path = tmp / "bench.db"

    # A store at schema 4 (no conversation indexes), filled in big transactions, then migrated.
    with old_schema():
        s = Store(path)
        for k in range(0, args.calls, args.batch):
            s.insert_records([make(i, t0) for i in range(k, min(k + args.batch, args.calls))])
        s.close()
    began = time.perf_counter()
    Store(path).close()                             # runs migration 5
    migration_s = time.perf_counter() - began
    rate_without, rate_with = insert_rates(tmp, 50_000, t0)

    s = Store(path)
    ids = [r[0] for r in s.conn.execute("SELECT id FROM calls ORDER BY id LIMIT 1000 OFFSET ?",
                                        (args.calls // 2,)).fetchall()]
    cases = {"responses chain": [i for i in ids if i % 10 in (4, 5)],      # ids are 1-based: i-1 is the kind
             "session": [i for i in ids if i % 10 in (1, 2, 3)],
             "tool follow-up": [i for i in ids if i % 10 == 7],
             "no links": [i for i in ids if i % 10 in (8, 9, 0)]}
    timings, sizes = {}, {}
    for name, picks in cases.items():
        times = []
        for record_id in picks[:50]:
            began = time.perf_counter()
            thread = conversations.thread_for(s, record_id)
            times.append((time.perf_counter() - began) * 1000)
        timings[name] = statistics.median(times)
        sizes[name] = len(thread)
    s.close()
    print(f"{args.calls:,} calls, {path.stat().st_size / 1e6:,.0f} MB (the machine was shared and loaded)")
    print(f"migration 5 (conversation indexes): {migration_s:.1f} s, once")
    print(f"inserts: {rate_without:,.0f}/s without the indexes, {rate_with:,.0f}/s with "
          f"(ratio {rate_without / rate_with:.2f}x)")
    for name, ms in timings.items():
        print(f"thread_for, {name}: median {ms:.2f} ms (thread of {sizes[name]} calls)")
    print(json.dumps({"calls": args.calls, "migration_s": round(migration_s, 2),
                      "insert_slowdown": round(rate_without / rate_with, 3),
                      "thread_for_ms": {k: round(v, 3) for k, v in timings.items()}}))


if __name__ == "__main__":
    main()
