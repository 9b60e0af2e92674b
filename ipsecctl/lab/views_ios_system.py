"""IOS / IOS-XE system outputs of a lab router: ``show version``, interfaces, uptime text."""

from __future__ import annotations

from ipsecctl.lab.state import Fleet
from ipsecctl.lab.views_ios_crypto import ends

#: every device has been up this long (plus a minute per index) when the lab's history starts
BOOTED_BEFORE_S = 9 * 86400 + 3 * 3600


def show_version(fleet: Fleet, name: str, t: float) -> str:
    spec = fleet.routers[name].spec
    up = uptime_text_long(t + fleet.history_s + BOOTED_BEFORE_S + spec.index * 60)
    if spec.platform == "cisco_ios":
        return "\n".join(
            [
                "Cisco IOS Software, C2900 Software (C2900-UNIVERSALK9-M), Version 15.7(3)M8, "
                "RELEASE SOFTWARE (fc2)",
                "Technical Support: http://www.cisco.com/techsupport",
                "Copyright (c) 1986-2021 by Cisco Systems, Inc.",
                "Compiled Thu 21-Jan-21 00:13 by prod_rel_team",
                "",
                "ROM: System Bootstrap, Version 15.0(1r)M16, RELEASE SOFTWARE (fc1)",
                "",
                f"{name} uptime is {up}",
                "System returned to ROM by power-on",
                'System image file is "flash0:c2900-universalk9-mz.SPA.157-3.M8.bin"',
                "Last reload type: Normal Reload",
                "",
                "Cisco CISCO2911/K9 (revision 1.0) with 487424K/36864K bytes of memory.",
                f"Processor board ID {spec.serial}",
                "3 Gigabit Ethernet interfaces",
                "DRAM configuration is 64 bits wide with parity disabled.",
                "255K bytes of non-volatile configuration memory.",
                "250880K bytes of ATA System CompactFlash 0 (Read/Write)",
                "",
                "Configuration register is 0x2102",
                "",
            ]
        )
    return "\n".join(
        [
            "Cisco IOS XE Software, Version 17.03.04a",
            "Cisco IOS Software [Amsterdam], Virtual XE Software "
            "(X86_64_LINUX_IOSD-UNIVERSALK9-M), Version 17.3.4a, RELEASE SOFTWARE (fc3)",
            "Technical Support: http://www.cisco.com/techsupport",
            "Copyright (c) 1986-2021 by Cisco Systems, Inc.",
            "Compiled Tue 20-Jul-21 04:59 by mcpre",
            "",
            "ROM: IOS-XE ROMMON",
            "",
            f"{name} uptime is {up}",
            "Uptime for this control processor is " + up,
            "System returned to ROM by reload",
            'System image file is "bootflash:packages.conf"',
            "Last reload reason: reload",
            "",
            "cisco CSR1000V (VXE) processor (revision VXE) with 2071991K/3075K bytes of memory.",
            f"Processor board ID {spec.serial}",
            "Router operating mode: Autonomous",
            "3 Gigabit Ethernet interfaces",
            "32768K bytes of non-volatile configuration memory.",
            "3978412K bytes of physical memory.",
            "",
            "Configuration register is 0x2102",
            "",
        ]
    )


def uptime_text_long(seconds: float) -> str:
    s = int(seconds)
    weeks, s = divmod(s, 7 * 86400)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes = s // 60
    parts = []
    for n, unit in ((weeks, "week"), (days, "day"), (hours, "hour"), (minutes, "minute")):
        if n or unit == "minute":
            parts.append(f"{n} {unit}{'' if n == 1 else 's'}")
    return ", ".join(parts)


def show_ip_interface_brief(fleet: Fleet, name: str, t: float) -> str:
    spec = fleet.routers[name].spec
    rows = [
        (spec.wan_if, spec.address),
        (spec.lan_if, spec.inside_host),
    ]
    for e in ends(fleet, name):
        if e.vti:
            rows.append((e.tunnel_if, f"172.31.{e.spec.id}.{1 if e.side == 'a' else 2}"))
        elif e.vrf:
            rows.append((e.interface, e.local_addr))
    out = ["Interface              IP-Address      OK? Method Status                Protocol"]
    for iface, addr in rows:
        out.append(f"{iface:<23}{addr:<16}YES NVRAM  up                    up      ")
    return "\n".join(out)
