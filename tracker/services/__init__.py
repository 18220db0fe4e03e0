"""The domain: pure functions and classes over a session. Nothing here imports Flask's
request machinery; services flush, and the request or CLI command commits."""
