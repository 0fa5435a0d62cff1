"""The Requests page: a stream's calls, live, with the selected call in detail (and its scores)."""
from .page import RequestsPage

__all__ = ["RequestsPage"]
