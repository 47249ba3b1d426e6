"""evroam.http: the edges that speak HTTP.

``client.py`` is the only module importing httpx; ``server.py`` the only one importing Litestar.
"""

from evroam.http.client import OcpiClient, OcpiResponse, Pages, ParamValue

__all__ = ["OcpiClient", "OcpiResponse", "Pages", "ParamValue"]
