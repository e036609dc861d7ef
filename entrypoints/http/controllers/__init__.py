"""Controllers: HTTP <-> use case, nothing else. One file per resource."""
