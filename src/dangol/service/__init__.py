"""The service layer: use cases over the domain, inside storage transactions."""
