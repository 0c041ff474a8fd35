"""HTTP routes, one module per resource. Each handler names its action via the catalog call."""
