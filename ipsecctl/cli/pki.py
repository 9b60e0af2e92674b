"""``ipsecctl pki ca init`` / ``ipsecctl pki issue``: the lab's certificate authority.

Thin: :mod:`ipsecctl.provision.pki` does the work (with ``cryptography``). Private keys are
written 0600 in 0700 folders and never printed; ``--json`` gives paths, subjects and serials.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ipsecctl.cli.context import stderr
from ipsecctl.models import envelope

app = typer.Typer(
    no_args_is_help=True, help="A lab certificate authority for certificate-authenticated tunnels."
)
ca_app = typer.Typer(no_args_is_help=True, help="The CA itself.")
app.add_typer(ca_app, name="ca")

CaDir = Annotated[
    Path | None,
    typer.Option("--ca", "--dir", help="CA folder (default: the state directory's pki/ca)."),
]


@ca_app.command("init")
def ca_init_cmd(
    ca: CaDir = None,
    subject: Annotated[
        str, typer.Option("--subject", help="CA subject.")
    ] = "CN=ipsecctl lab CA,O=ipsecctl lab",
    days: Annotated[int, typer.Option("--days", min=1, help="Validity in days.")] = 3650,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing CA.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON result on stdout.")] = False,
) -> None:
    """Create the CA (ca.key 0600, ca.pem)."""
    from ipsecctl.provision import pki

    folder = ca or pki.default_ca_dir()
    cert = pki.ca_init(folder, subject=subject, days=days, force=force)
    if as_json:
        sys.stdout.write(
            json.dumps(envelope("pki_ca", dir=str(folder), cert=str(cert), subject=subject)) + "\n"
        )
    else:
        stderr().print(f"CA created in {escape(str(folder))} ({escape(subject)})", highlight=False)


@app.command("issue")
def issue_cmd(
    name: Annotated[str, typer.Argument(help="Certificate name (file names).", show_default=False)],
    ca: CaDir = None,
    subject: Annotated[
        str | None, typer.Option("--subject", help="Subject (default CN=NAME).")
    ] = None,
    ip: Annotated[
        list[str] | None, typer.Option("--ip", help="IP subject alternative name (repeatable).")
    ] = None,
    dns: Annotated[
        list[str] | None, typer.Option("--dns", help="DNS subject alternative name (repeatable).")
    ] = None,
    days: Annotated[int, typer.Option("--days", min=1, help="Validity in days.")] = 825,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Also lay the files out for swanctl under DIR (x509/, private/, x509ca/)."
        ),
    ] = None,
    trustpoint: Annotated[
        str, typer.Option("--trustpoint", help="File name of the CA certificate under x509ca/.")
    ] = "IPSECCTL-CA",
    as_json: Annotated[bool, typer.Option("--json", help="JSON result on stdout.")] = False,
) -> None:
    """Issue a key and certificate signed by the CA."""
    from ipsecctl.provision import pki

    folder = ca or pki.default_ca_dir()
    got = pki.issue(
        folder,
        name,
        subject=subject,
        ips=tuple(ip or ()),
        dns=tuple(dns or ()),
        days=days,
        out=out,
        trustpoint=trustpoint,
    )
    if as_json:
        sys.stdout.write(
            json.dumps(
                envelope(
                    "pki_issue",
                    name=got.name,
                    subject=got.subject,
                    cert=str(got.cert),
                    key=str(got.key),
                    serial=got.serial,
                    not_after=got.not_after,
                )
            )
            + "\n"
        )
    else:
        stderr().print(
            f"issued {escape(got.subject)}: {escape(str(got.cert))} (key "
            f"{escape(str(got.key))}, 0600)",
            highlight=False,
        )
