"""One module per concern; each exposes `POLICIES`, a list of pulumi-policy Policy objects."""
