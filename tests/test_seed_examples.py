"""The seed walkthrough's examples, verbatim but for the import line, against the simulator."""
from __future__ import annotations

import os


def test_seed_walkthrough(sim_env, db_path, capsys):
    # -- Step 1 (auth part) --
    assert os.getenv("OPENAI_API_KEY", "").startswith("sk-"), "This doesn't look like a valid OpenAI API key"
    # -- Step 2 --
    WB_ENTITY = ""
    WB_PROJECT = "weave"
    STREAM_NAME = "openai_logs"
    # -- Step 3 -- (import line changed: weave.monitoring -> monitor; db_path keeps the test isolated)
    from monitor import openai, init_monitor

    m = init_monitor(f"{WB_ENTITY}/{WB_PROJECT}/{STREAM_NAME}", db_path=db_path)
    printed = capsys.readouterr().out
    assert str(db_path) in printed and "openai-monitor" in printed and printed.count("\n") == 1
    OPENAI_MODEL = "gpt-3.5-turbo"
    r = openai.ChatCompletion.create(model=OPENAI_MODEL, messages=[{"role": "user", "content": "hello world!"}])
    r = openai.ChatCompletion.create(model=OPENAI_MODEL, messages=[{"role": "user", "content": "what is 2+2?"}])

    # -- Example 1 --
    response = openai.ChatCompletion.create(
        model=OPENAI_MODEL,
        messages=[{"role": "user", "content": f"What is the meaning of life, the universe, and everything?"}],
    )
    print(response["choices"][0]["message"]["content"])
    assert response["choices"][0]["message"]["content"] == response.choices[0].message.content
    assert response.choices[0].message.content

    # -- Example 2 --
    system_prompt = "you always write in bullet points"
    prompt_template = "solve the following equation step by step: {equation}"
    params = {"equation": "4 * (3 - 1)"}
    openai.ChatCompletion.create(
        model=OPENAI_MODEL,
        messages=[
            {"role": "system", "content": system_prompt},
            {"role": "user", "content": prompt_template.format(**params)},
        ],
        monitor_attributes={"system_prompt": system_prompt, "prompt_template": prompt_template, "params": params},
    )

    # -- Example 3 --
    from monitor.openai import message_from_stream

    r = openai.ChatCompletion.create(
        model=OPENAI_MODEL,
        messages=[
            {"role": "system", "content": "You are a robot and only speak in robot, like beep bloop bop."},
            {"role": "user", "content": "Tell me a 50-word story."},
        ],
        stream=True,
    )
    streamed = "".join(s for s in message_from_stream(r))
    assert streamed

    # -- Example 4 --
    def explain_math(system_prompt, prompt_template, params):
        openai.ChatCompletion.create(
            model=OPENAI_MODEL,
            messages=[
                {"role": "system", "content": system_prompt},
                {"role": "user", "content": prompt_template.format(**params)},
            ],
            monitor_attributes={"system_prompt": system_prompt, "prompt_template": prompt_template, "params": params},
        )

    system_prompts = ["you're extremely flowery and poetic", "you're very direct and precise", "balance brevity with insight"]
    prompt_template = "explain the solution of the following to a {audience}: {equation}"
    equations = ["x^2 + 4x + 9 = 0", "15 * (2 - 6) / 4"]
    audience = ["new student", "math genius"]
    for system_prompt in system_prompts:
        for equation in equations:
            for person in audience:
                params = {"equation": equation, "audience": person}
                explain_math(system_prompt, prompt_template, params)

    # -- What was logged --
    records = m.records()
    assert len(records) == 2 + 1 + 1 + 1 + 12
    assert all(r.stream == "weave/openai_logs" and r.status == "success" for r in records)
    assert all(r.api == "chat.completions" and r.model == OPENAI_MODEL for r in records)
    assert records[0].request["messages"] == [{"role": "user", "content": "hello world!"}]
    assert records[2].output == response.choices[0].message.content
    ex2 = records[3]
    assert ex2.attributes == {"system_prompt": "you always write in bullet points",
                              "prompt_template": "solve the following equation step by step: {equation}",
                              "params": {"equation": "4 * (3 - 1)"}}
    assert "monitor_attributes" not in ex2.request
    stream_rec = records[4]
    assert stream_rec.streamed and stream_rec.output == streamed
    # Unlike the seed ("token counts aren't tracked in streaming mode"), streams carry exact usage.
    assert stream_rec.prompt_tokens > 0 and stream_rec.completion_tokens > 0 and not stream_rec.usage_estimated
    assert stream_rec.ttft_ms is not None and stream_rec.ttft_ms <= stream_rec.latency_ms
    assert stream_rec.cost_usd > 0
    grid = records[5:]
    assert {(r.attributes["system_prompt"], r.attributes["params"]["equation"], r.attributes["params"]["audience"])
            for r in grid} == {(s, e, a) for s in system_prompts for e in equations for a in audience}
    for rec in records:
        assert rec.total_tokens == rec.prompt_tokens + rec.completion_tokens
        assert rec.cost_usd is not None and rec.cost_usd > 0
        assert rec.latency_ms > 0
    m.close()


def test_facade_acreate_across_event_loops(sim_env, db_path):
    import asyncio

    from monitor import init_monitor, openai

    m = init_monitor("facade/async", db_path=db_path, quiet=True)
    for _ in range(3):                       # each asyncio.run() is a new event loop
        r = asyncio.run(openai.ChatCompletion.acreate(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]))
        assert r["choices"][0]["message"]["content"]
    openai.ChatCompletion.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert [r.status for r in m.records()] == ["success"] * 4
    m.close()
