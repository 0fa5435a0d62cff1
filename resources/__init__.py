"""Package data: price table, board templates, icons, stylesheets (located via monitor.paths)."""
