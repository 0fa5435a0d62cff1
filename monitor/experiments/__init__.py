"""Experiments: files (the YAML/JSON contract), the grid and its run, scorers, the saved-prompt library.

`from monitor.experiments import ExperimentSpec, expand, run_calls, …` keeps working as before the split.
"""
from .runner import (CSV_COLUMNS, REASONING_PREFIXES, CallResult, Estimate, ExperimentCall, ExperimentSpec,
                     call_key, call_once, cell_signature, cells_to_rerun, estimate, estimate_prompt, expand,
                     match_records, max_tokens_param, result_key, run_calls, run_cell, stored_matches, write_csv)
from .scorers import Score, assert_label, unique_labels

__all__ = [
    "CSV_COLUMNS", "REASONING_PREFIXES", "CallResult", "Estimate", "ExperimentCall", "ExperimentSpec", "Score",
    "assert_label", "call_key", "call_once", "cell_signature", "cells_to_rerun", "estimate", "estimate_prompt",
    "expand", "match_records", "max_tokens_param", "result_key", "run_calls", "run_cell", "stored_matches",
    "unique_labels", "write_csv",
]
