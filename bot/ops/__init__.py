"""Operations: the HTTP server, health and metrics, JSON logs, graceful shutdown."""
