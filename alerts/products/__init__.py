"""Product writers of the parks team (irrigation priority): GeoJSON, CSV, COG, PNG, HTML, manifest.

Every file is written atomically (temporary file in the same folder, then :func:`os.replace`).
"""

from alerts.products.irrigation_run import copernicus_attribution, write_vegetation_products

__all__ = ["copernicus_attribution", "write_vegetation_products"]
