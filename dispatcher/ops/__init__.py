"""Operations: what an operator and a DBA use. The SQL wrappers behind the operator commands
(``messages``), the status sampler, the console's pages and actions, and the HTTP server that
serves them with /metrics, /healthz and /readyz."""
