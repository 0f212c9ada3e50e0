"""SQL, one module per resource: plain functions taking a connection first; none commits."""
