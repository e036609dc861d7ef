"""Stripe's wire format in plain Python: webhook signatures, JSON objects -> gateway-neutral snapshots, amount rules.

Shared by adapters.stripe (the real API through the SDK) and adapters.sandbox (Stripe's test mode in process), so
both speak exactly the same dialect. It imports no SDK and no other adapter: only the domain and the gateway port.
"""
