"""Writes tests/fixtures/replay/ from the real device outputs in tests/fixtures/cisco.

Run ``python -m tests.tui.replay_fixtures`` to regenerate; the folder uses the replay layout
of ipsecctl.transport.replay (DIR/<device>/meta.json + DIR/<device>/<command_slug>.txt).
"""

from __future__ import annotations

import json
from pathlib import Path

from ipsecctl.platforms import get_platform
from ipsecctl.transport.replay import command_slug

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS = FIXTURES / "cisco" / "iosxe"
OUT = FIXTURES / "replay"

# device -> (ipsec sa sample, isakmp sa detail sample)
DEVICES = {
    "edge-1": (
        "show_crypto_ipsec_sa/genieparser-1.txt",
        "show_crypto_isakmp_sa_detail/genieparser-1.txt",
    ),
    "edge-2": (
        "show_crypto_ipsec_sa_detail/genieparser-1.txt",
        "show_crypto_isakmp_sa_detail/genieparser-2.txt",
    ),
    "edge-3": ("show_crypto_ipsec_sa_detail/genieparser-2.txt", None),
    "hub-1": (
        "show_crypto_ipsec_sa_detail/genieparser-3.txt",
        "show_crypto_isakmp_sa_detail/genieparser-3.txt",
    ),
}


def main() -> None:
    for device, (ipsec, isakmp) in DEVICES.items():
        folder = OUT / device
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "device": device,
            "platform": "cisco_iosxe",
            "saved_at": "2026-01-01T00:00:00Z",
            "source": {"show crypto ipsec sa": ipsec, "show crypto isakmp sa detail": isakmp},
        }
        (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        # every command the platform collects; no corpus sample -> an empty (valid) output
        texts = dict.fromkeys(get_platform("cisco_iosxe").commands(), "")
        texts["show crypto ipsec sa"] = (CORPUS / ipsec).read_text()
        texts["show crypto isakmp sa detail"] = (CORPUS / isakmp).read_text() if isakmp else ""
        for command, text in texts.items():
            (folder / f"{command_slug(command)}.txt").write_text(text)


if __name__ == "__main__":
    main()
