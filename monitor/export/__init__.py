"""Where records go besides the store: OpenTelemetry (otlp.py)."""
