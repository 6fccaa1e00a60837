"""The shared vocabulary of geospace, below every other package (DESIGN section 2).

- :mod:`core.errors`: the one error base class and its kinds (each with its exit code), warnings.
- :mod:`core.quantities`: quantities with units in profile and rule files.
- :mod:`core.profile`: the typed city profile (and the packaged profiles in ``core/profiles``).
- :mod:`core.status`: states shared by products and alerts (a subject's data status).
- :mod:`core.urls`: URL redaction and the loopback hosts (sources and sinks alike).

``core`` imports nothing of geospace; ``eo``, ``indices``, ``alerts`` and ``flows`` all may import it.
"""
