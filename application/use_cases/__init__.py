"""Use cases: one class per use case, constructed with ports only, called with a frozen command."""
