"""Settings: connection profiles (keys in the OS keyring)."""
from .dialog import SettingsDialog

__all__ = ["SettingsDialog"]
