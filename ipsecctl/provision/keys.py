"""Key material for a network: pre-shared keys per pair and manual SAs, kept in a key store.

Why a store: a generated key (``psk: generate``) or a manual SA must be the same on both ends
and the same the next time the spec is rendered, diffed or pushed; otherwise every run would
re-key every tunnel. The store is a 0700 folder per network holding one 0600 file per pair;
nothing is ever printed from it. Keys come from :func:`secrets.token_bytes` /
:func:`secrets.token_urlsafe` (the OS CSPRNG), SPIs are random in 256..2^32-1 (RFC 4303: 1-255
are reserved) and unique within the network.

Everything shown (render output, JSON, diffs, audit) carries placeholders; only the files a
render writes with ``--with-keys`` semantics (manual SAs) and the push itself see a value.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from ipsecctl import errors
from ipsecctl.provision.spelling import (
    MANUAL_AUTH_BYTES,
    MANUAL_CIPHER_BYTES,
    WIRESHARK_AUTH,
    WIRESHARK_ENC,
)
from ipsecctl.provision.topology import Link, Network
from ipsecctl.transport import private_dir, write_private

SPI_MIN = 256
SPI_MAX = 2**32 - 1


def default_store() -> Path:
    from ipsecctl.settings import state_dir

    return state_dir() / "provision-keys"


def store_dir(net: Network, base: Path | None = None) -> Path:
    """The network's folder in the key store (``key_store:`` in the spec, else the state dir)."""
    ref = net.spec.key_store
    root = Path(ref).expanduser() if ref else default_store()
    if base is not None and not root.is_absolute():
        root = base / root
    return root / net.name


def _read(path: Path) -> str | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    if st.st_mode & 0o077:
        raise errors.InputFileError(
            f"{path}: key file is readable by others (mode {st.st_mode & 0o777:o}); chmod 600 it"
        )
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise errors.InputFileError(f"{path}: cannot read ({exc.strerror})") from None


def _store(folder: Path, name: str, value: str, *, create: bool) -> str:
    """The stored value of ``name``, creating it (0600 in a 0700 folder) when allowed."""
    path = folder / name
    have = _read(path)
    if have:
        return have
    if not create:
        raise errors.UsageError(
            f"{path}: no stored key yet; render or push the spec once to generate it"
        )
    try:
        private_dir(folder)
        write_private(path, value + "\n")
    except OSError as exc:
        raise errors.InputFileError(
            f"{folder}: cannot write the key store ({exc.strerror})"
        ) from None
    return value


def resolve_psks(
    net: Network, base: Path | None = None, *, create: bool = True
) -> dict[str, SecretStr]:
    """Link name -> its pre-shared key (empty for certificate or manual authentication)."""
    source = net.spec.key_source()
    if source is None:
        return {}
    if not source.per_pair:
        one = source.resolve(base)
        return {lk.name: one for lk in net.links}
    if source.kind == "file":
        return {lk.name: source.for_pair(lk.name).resolve(base) for lk in net.links}
    folder = store_dir(net, base)
    return {
        lk.name: SecretStr(
            _store(folder, f"{lk.name}.psk", secrets.token_urlsafe(24), create=create)
        )
        for lk in net.links
    }


@dataclass(frozen=True)
class ManualSa:
    """One direction of a manual SA: SPI and keys (hex); ``src`` -> ``dst``."""

    src: str
    dst: str
    spi: int
    cipher: str = field(repr=False)
    auth: str = field(repr=False)


@dataclass(frozen=True)
class ManualPair:
    """Both directions of one link's manual SA (``ab``: a -> b)."""

    ab: ManualSa
    ba: ManualSa

    def inbound(self, local: str) -> ManualSa:
        return self.ba if self.ab.src == local else self.ab

    def outbound(self, local: str) -> ManualSa:
        return self.ab if self.ab.src == local else self.ba


def _new_manual(lk: Link, cipher_len: int, auth_len: int, used: set[int]) -> dict[str, object]:
    def spi() -> int:
        while True:
            value = SPI_MIN + secrets.randbelow(SPI_MAX - SPI_MIN + 1)
            if value not in used:
                used.add(value)
                return value

    return {
        "ab": {
            "spi": spi(),
            "cipher": secrets.token_bytes(cipher_len).hex(),
            "auth": secrets.token_bytes(auth_len).hex() if auth_len else "",
        },
        "ba": {
            "spi": spi(),
            "cipher": secrets.token_bytes(cipher_len).hex(),
            "auth": secrets.token_bytes(auth_len).hex() if auth_len else "",
        },
    }


def manual_lengths(net: Network) -> tuple[int, int]:
    esp = net.spec.esp
    if esp.encryption not in MANUAL_CIPHER_BYTES:
        raise errors.InputFileError(
            f"{net.name}: manual SAs take a CBC cipher ({', '.join(MANUAL_CIPHER_BYTES)}); "
            f"{esp.encryption} needs IKE"
        )
    return MANUAL_CIPHER_BYTES[esp.encryption], MANUAL_AUTH_BYTES.get(esp.integrity or "", 0)


def resolve_manual(
    net: Network, base: Path | None = None, *, create: bool = True
) -> dict[str, ManualPair]:
    """Link name -> its manual SA pair (stored once, then reused: both ends mirror it)."""
    if net.spec.auth != "manual":
        return {}
    clen, alen = manual_lengths(net)
    folder = store_dir(net, base)
    used: set[int] = set()
    out: dict[str, ManualPair] = {}
    for lk in net.links:
        raw = _store(
            folder,
            f"{lk.name}.sa.json",
            json.dumps(_new_manual(lk, clen, alen, used)),
            create=create,
        )
        try:
            doc = json.loads(raw)
            a, b = lk.a.node.outside_address, lk.b.node.outside_address
            pair = ManualPair(
                ManualSa(
                    a, b, int(doc["ab"]["spi"]), str(doc["ab"]["cipher"]), str(doc["ab"]["auth"])
                ),
                ManualSa(
                    b, a, int(doc["ba"]["spi"]), str(doc["ba"]["cipher"]), str(doc["ba"]["auth"])
                ),
            )
        except (ValueError, KeyError, TypeError):
            raise errors.InputFileError(
                f"{folder / (lk.name + '.sa.json')}: not a manual SA record; delete it to "
                "generate a new one"
            ) from None
        for sa in (pair.ab, pair.ba):
            if (
                not SPI_MIN <= sa.spi <= SPI_MAX
                or len(sa.cipher) != 2 * clen
                or len(sa.auth) != 2 * alen
            ):
                raise errors.InputFileError(
                    f"{folder / (lk.name + '.sa.json')}: SPI or key length does not fit "
                    f"{net.spec.esp.keyword()}; delete it to generate a new one"
                )
        out[lk.name] = pair
    return out


def wireshark_esp_sa(net: Network, manual: dict[str, ManualPair]) -> str:
    """Wireshark's ``esp_sa`` table for every manual SA (both directions of every link)."""
    esp = net.spec.esp
    enc = WIRESHARK_ENC[esp.encryption]
    auth = WIRESHARK_AUTH.get(esp.integrity or "", "NULL")
    rows = []
    for pair in manual.values():
        for sa in (pair.ab, pair.ba):
            rows.append(
                ",".join(
                    f'"{v}"'
                    for v in (
                        "IPv4",
                        sa.src,
                        sa.dst,
                        f"0x{sa.spi:08x}",
                        enc,
                        f"0x{sa.cipher}",
                        auth,
                        f"0x{sa.auth}" if sa.auth else "",
                    )
                )
            )
    return "\n".join(rows) + "\n"


def write_keys_file(path: Path, text: str) -> None:
    """``--write-keys``: the key file is as secret as the keys (0600)."""
    try:
        if path.parent != Path("") and not path.parent.exists():
            private_dir(path.parent)
        write_private(path, text)
        os.chmod(path, 0o600)
    except OSError as exc:
        raise errors.InputFileError(f"--write-keys {path}: cannot write ({exc.strerror})") from None
