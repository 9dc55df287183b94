"""Load benchmark of the bridge against the sandbox fakes: `python -m bench` (see README.md).

Every participant runs in its own process: the fakes (`bench.fakes`), the bridge
(`python -m bridge run`), a bare aiohttp baseline (`bench.baseline`) and the load generator
(`bench.loadgen`); the driver (`bench.driver`) only orchestrates and checks.
"""
