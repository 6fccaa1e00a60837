"""Detectors: per-subject statistics or points -> decisions and findings (DESIGN section 4).

Each module is one hazard: :mod:`alerts.detect.irrigation` ranks parks by water stress.
"""
