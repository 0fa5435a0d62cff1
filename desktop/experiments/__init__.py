"""The Experiments page: inputs, a scored run, results as a matrix and a table, experiment files."""
from .page import ExperimentsPage, experiment_run

__all__ = ["ExperimentsPage", "experiment_run"]
