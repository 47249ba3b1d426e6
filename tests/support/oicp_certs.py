"""Certificates for the OICP mutual-TLS tests, made with trustme: one CA, a certificate per party."""

from __future__ import annotations

from pathlib import Path

import trustme

from evroam.oicp.tls import TlsFiles


class Certificates:
    """A CA in ``folder`` issuing server/client certificates for 127.0.0.1 under a common name each."""

    def __init__(self, folder: Path, ca: trustme.CA | None = None) -> None:
        self.folder = folder
        self.ca = ca or trustme.CA()
        folder.mkdir(parents=True, exist_ok=True)
        self.ca_path = folder / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_path))

    def issue(self, name: str) -> TlsFiles:
        cert = self.ca.issue_cert("127.0.0.1", "localhost", common_name=name)
        slug = "".join(c if c.isalnum() else "_" for c in name)
        cert_path, key_path = self.folder / f"{slug}.pem", self.folder / f"{slug}.key"
        for i, blob in enumerate(cert.cert_chain_pems):
            blob.write_to_path(str(cert_path), append=i > 0)
        cert.private_key_pem.write_to_path(str(key_path))
        return TlsFiles(cert=str(cert_path), key=str(key_path), ca=str(self.ca_path))
