"""File ▸ Open team store…: a PostgreSQL URL, and its password when the server asks for one."""
from .dialog import TeamStoreDialog, split_password

__all__ = ["TeamStoreDialog", "split_password"]
