"""The HTTP layer: one blueprint per audience, thin over the domain packages. A blueprint
never imports another blueprint (``lint-imports`` checks it)."""
