"""evroam.modules: one package per OCPI functional module (``locations``, ``tariffs`` ...), each with a
typed port per role, the service holding the logic, its store documents, validation, per-version wire
adapters and the HTTP bindings the node serves."""
