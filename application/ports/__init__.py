"""Ports: what the application needs from the outside world, as Protocols named by role."""
