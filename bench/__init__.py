"""`make bench`: hexpay measured beside Postgres's own ceiling (pgbench) and a bare Litestar + asyncpg handler
issuing the same statements. See bench/README.md for how a run goes and how to read its table."""
