"""Which catalogues and asset hrefs geospace may touch (DESIGN section 3, "Security at the edge").

Remote catalogues and assets: ``https`` only, host on the profile's allowlist. Local catalogues
(a static ``catalog.json`` on disk) only under configured directories; ``file:``, ``/vsi*`` and bare
paths are accepted only from a local catalogue, and only when they resolve (symlinks and ``..``
followed) under one of those directories. A remote catalogue can never make geospace read a local
file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from core.errors import AllowlistError
from core.urls import LOOPBACK_HOSTS, redact_url

# GDAL virtual file systems whose remainder is a local path (an archive on disk).
_LOCAL_VSI = ("/vsizip/", "/vsitar/", "/vsigzip/")
_REMOTE_VSI = ("/vsicurl/",)


@dataclass(frozen=True)
class Allowlist:
    """Hosts and directories a source may read from.

    Attributes
    ----------
    hosts : frozenset of str
        Host names allowed over https (``"earth-search.aws.element84.com"``); an entry
        ``"*.blob.core.windows.net"`` allows every subdomain of that domain.
    local_dirs : tuple of Path
        Directories local catalogues and their assets must lie under.
    http_hosts : frozenset of str
        Loopback hosts allowed over plain http (local test servers); anything but
        127.0.0.1/localhost/::1 is refused here.
    """

    hosts: frozenset[str]
    local_dirs: tuple[Path, ...] = ()
    http_hosts: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hosts", frozenset(h.lower() for h in self.hosts))
        object.__setattr__(self, "local_dirs", tuple(Path(d) for d in self.local_dirs))
        bad = sorted(set(self.http_hosts) - LOOPBACK_HOSTS)
        if bad:
            raise AllowlistError(
                f"plain-http hosts {bad} are not allowed: http is accepted only for loopback test "
                "servers (127.0.0.1, localhost, ::1); use https and list the host under hosts"
            )

    def check_catalog(self, url_or_path: str | os.PathLike[str]) -> str:
        """Check a catalogue root; return it (a URL as given, a local path resolved).

        Raises
        ------
        AllowlistError
            The URL is not https, its host is not listed, or the local path is outside
            ``local_dirs``.
        """
        href = os.fspath(url_or_path)
        if _is_remote(href):
            return self._check_remote(href, what="catalogue")
        return str(self._check_local(href, what="catalogue"))

    def check_service(self, url: str, *, what: str) -> str:
        """Check the URL of a remote service that is not a catalogue (a weather API): https on
        an allowed host, plain http only to ``http_hosts``; ``what`` names it in the error."""
        return self._check_remote(url, what=what)

    def check_asset(self, href: str, *, catalog_is_local: bool) -> str:
        """Check an asset href found in a catalogue; return what may be read.

        Parameters
        ----------
        href : str
            Absolute href (resolve relative hrefs against the item's location first).
        catalog_is_local : bool
            True for a static catalogue on disk: then local paths, ``file:`` and ``/vsizip/``-like
            hrefs are allowed under ``local_dirs``. From a remote catalogue only allowed https
            URLs pass.
        """
        if href.startswith(_REMOTE_VSI):
            self._check_remote(href[len("/vsicurl/") :], what="asset")
            return href
        if _is_remote(href):
            return self._check_remote(href, what="asset")
        if not catalog_is_local:
            raise AllowlistError(
                f"asset href {redact_url(href)!r} of a remote catalogue points at a local file or "
                "GDAL virtual file system; remote catalogues may only reference https assets on "
                "the profile's allowlist (allowlist.hosts). Fix the catalogue or use another one."
            )
        for prefix in _LOCAL_VSI:
            if href.startswith(prefix):
                self._check_local(href[len(prefix) :], what="asset")
                return href
        return str(self._check_local(href, what="asset"))

    def _check_remote(self, url: str, *, what: str) -> str:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        scheme = parts.scheme.lower()
        if scheme == "http" and host in self.http_hosts:
            return url
        if scheme != "https":
            raise AllowlistError(
                f"{what} {redact_url(url)!r} uses {scheme!r}; only https is allowed for remote "
                "sources. Use the https URL of the service."
            )
        if not self._host_allowed(host):
            raise AllowlistError(
                f"{what} {redact_url(url)!r} is on host {host!r}, which is not on the allowlist. "
                f"If you trust it, add {host!r} to the profile's allowlist.hosts."
            )
        return url

    def _host_allowed(self, host: str) -> bool:
        if host in self.hosts:
            return True
        return any(
            entry.startswith("*.") and host.endswith(entry[1:]) and host != entry[2:]
            for entry in self.hosts
        )

    def _check_local(self, href: str, *, what: str) -> Path:
        if href.startswith("/vsi"):
            raise AllowlistError(
                f"{what} {href!r} uses a GDAL virtual file system that is not allowed; only "
                "/vsicurl/ (https, allowlisted host) and /vsizip/, /vsitar/, /vsigzip/ on local "
                "files under the configured directories are accepted."
            )
        path = Path(unquote(urlsplit(href).path)) if href.startswith("file:") else Path(href)
        resolved = path.expanduser().resolve()
        for root in self.local_dirs:
            if resolved.is_relative_to(root.expanduser().resolve()):
                return resolved
        roots = ", ".join(str(d) for d in self.local_dirs) or "none configured"
        raise AllowlistError(
            f"local {what} {href!r} resolves to {str(resolved)!r}, outside the allowed local "
            f"directories ({roots}). Move it under one of them or add its directory to the "
            "profile's local catalogue directories."
        )


def _is_remote(href: str) -> bool:
    """True for anything with a URL scheme other than ``file`` (and not a Windows drive)."""
    scheme = urlsplit(href).scheme.lower()
    return bool(scheme) and scheme != "file" and len(scheme) > 1
