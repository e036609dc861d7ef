"""Test helpers for teams that drive hexpay's domain from their own property suites."""
