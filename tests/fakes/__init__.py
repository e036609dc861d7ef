"""Fault-injecting fakes: each implements a port by wrapping a real adapter and failing where it is told to."""
