"""The Playground page: one prompt, or several variants side by side (Compare)."""
from .page import PlaygroundPage

__all__ = ["PlaygroundPage"]
