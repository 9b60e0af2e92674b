"""Published test vectors run through ipsecctl's ESP open (and seal) path.

Sources (each vector names its RFC/draft):
- RFC 3602 section 4, test cases #5-#8: complete AES-CBC ESP packets (no integrity).
- draft-mcgrew-gcm-test-01 (the RFC 4106 companion test cases): complete AES-GCM ESP packets,
  including 64-bit ESN AAD (SPI || ESN-high || seq-low).
- RFC 7539 section 2.8.2 AEAD vector (the construction RFC 7634 uses for ESP): its 12-byte AAD
  is read as SPI || ESN-high || seq-low and its nonce as salt(4) || IV(8).
- RFC 2202 (HMAC-MD5, HMAC-SHA-1) and RFC 4868 section 2.7.1 (HMAC-SHA-256/384/512 with the
  32/48/64-byte keys IPsec uses), truncated to the ESP ICV lengths (-96, -128, -192, -256).
"""

from __future__ import annotations

import pytest

from ipsecctl.diag.packets.esp import EspCipher
from ipsecctl.diag.packets.keys import SecurityAssociation
from ipsecctl.diag.packets.suites import ENCRYPTION, INTEGRITY, encryption_suite

H = bytes.fromhex

# RFC 3602 4. Test Vectors, cases #5-#8: (key, ESP packet, payload, seq, pad_len, next header)
RFC3602 = [
    ("90d382b410eeba7ad938c46cec1a82bf",
     "0000432100000001e96e8c08ab465763fd098d45dd3ff893f663c25d325c18c6a9453e194e120849"
     "a4870b66cc6b9965330013b4898dc856a4699e523a55db080b59ec3a8e4b7e52775b07d1db34ed9c"
     "538ab50c551b874aa269add047ad2d5913ac19b7cfbad4a6",
     "08000ebda70a00008e9c083db95b070008090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
     "202122232425262728292a2b2c2d2e2f3031323334353637", 1, 14, 1),
    ("90d382b410eeba7ad938c46cec1a82bf",
     "000043210000000869d08df7d203329db093fc4924e5bd80f51995881ec4e0c4488987ce742e8109"
     "689bb379d2d750c0d915dca346a89f75",
     "0800b5e8a80a0500a69c083d0b660e00777777777777777777777777", 8, None, 1),
    ("0123456789abcdef0123456789abcdef",
     "0000876500000002f4e765244f6407adf13dc1380f673f37773b5241a4c449225e4f3ce5ed611b0c"
     "237ca96cf74a93013c1b0ea1a0cf70f8e4ecaec78ac53aad7a0f022b859243c647752e94a859352b"
     "8a4d4d2decd136e5c177f132ad3fbfb2201ac9904c74ee0a109e0ca1e4dfe9d5a100b842f1c22f0d",
     "45000054090400004001f988c0a87b03c0a87bc808009f76a90a0100b49c083d02a2040008090a0b"
     "0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30313233"
     "34353637", 2, None, 4),
    ("0123456789abcdef0123456789abcdef",
     "000087650000000585d47224b5f3dd5d2101d4ea8dffab2215b92683819596a8047232cc00f7048f"
     "e45318e11f8a0f62ede3c3fc61203bb50f980a08c9843fd3a1b06d5c07ff9639b7eb7dfb3512e5de"
     "435e7207ed971ef3d2726d9b5ef6affc6d17a0decbb13892",
     "45000044090c00004001f990c0a87b03c0a87bc80800d63caa0a0200c69c083da3de0300ffffffff"
     "ffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 5, None, 4),
]  # fmt: skip


@pytest.mark.parametrize("key,packet,payload,seq,pad_len,nh", RFC3602)
def test_rfc3602_aes_cbc_packets(
    key: str, packet: str, payload: str, seq: int, pad_len: int | None, nh: int
) -> None:
    sa = SecurityAssociation(int(packet[:8], 16), encryption=ENCRYPTION["aes128"], enc_key=H(key))
    pkt = H(packet)
    res = EspCipher(sa).open(pkt, 0, len(pkt))
    assert res.icv == "unverified" and res.decrypted and res.pad_ok
    assert res.plaintext == H(payload)
    assert res.next_header == nh
    if pad_len is not None:
        assert res.pad_len == pad_len
    assert int.from_bytes(pkt[4:8], "big") == seq
    # Our sealer, fed the same IV, rebuilds the exact published packet.
    assert EspCipher(sa).seal(seq, H(payload), nh, iv=pkt[8:24]) == pkt


# draft-mcgrew-gcm-test-01 section 4 (key, nonce = salt||IV, aad, plaintext incl. trailer,
# ciphertext, tag)
GCM = [
    ("4c80cdefbb5d10da906ac73c3613a634", "2e443b684956ed7e3b244cfe", "000043218765432100000000",
     "45000048699a000080114db7c0a80102c0a801010a9bf15638d301000001000000000000045f736970045f"
     "756470037369700963796265726369747902646b000021000101020201",
     "fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34cfa2436f14a3f3cf6592"
     "5bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce61bc17d768fd9732",
     "459018148f6cbe722fd04796562dfdb4"),
    ("feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "0000a5f80000000a",
     "4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d001000001000000000000037369"
     "700963796265726369747902646b00000100010001",
     "deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c3de81827c10e9a4f5133"
     "0d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd1", "83b70d3aa8bc6ee4c309e9d85a41ad4a"),
    ("abbccddef00112233445566778899aababbccddef00112233445566778899aab",
     "112233440102030405060708", "4a2cbfe300000002",
     "4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee0000000007002400020bf0000020405"
     "b40101040201020201",
     "ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763748a637985771d347f05"
     "45659f14e99def842d8e", "b335f4eecfdbf831824b4c4915956c96"),
    ("feffe9928665731c6d6a8f9467308308feffe9928665731c", "cafebabefacedbaddecaf888",
     "0000a5f80000000a",
     "45000028a4ad4000400678800a01038f0a010612802306b8cb712602dd6bb03e501016d075680001",
     "a5b1f8066029aea40e598b8122de02420938b3ab33f828e687b8858b5bfbdbd0315b27452144cc77",
     "95457b9652037f5318027b5b4cd7a636"),
    ("abbccddef00112233445566778899aab", "decaf888cafedebaceface74", "000001000000000000000001",
     "746f016265016f72016e6f7401746f0162650001", "29c9fc69a197d038ccdd14e2ddfcaa0543332164",
     "412503524303ed3c6c5f283843af8c3e"),
]  # fmt: skip


def _aead_packet(aad: bytes, iv: bytes, body: bytes) -> tuple[bytes, bool, int]:
    """ESP packet from an AEAD vector's AAD (8 bytes, or 12 with ESN) -> (packet, esn, hi)."""
    if len(aad) == 12:
        return aad[:4] + aad[8:12] + iv + body, True, int.from_bytes(aad[4:8], "big")
    return aad + iv + body, False, 0


@pytest.mark.parametrize("key,nonce,aad,pt,ct,tag", GCM)
@pytest.mark.parametrize("icv", [16, 12, 8])
def test_rfc4106_gcm_packets(
    key: str, nonce: str, aad: str, pt: str, ct: str, tag: str, icv: int
) -> None:
    full = H(key) + H(nonce)[:4]
    suite = encryption_suite("aes-gcm", len(full), icv * 8)
    assert suite.icv_len == icv
    pkt, esn, hi = _aead_packet(H(aad), H(nonce)[4:], H(ct) + H(tag)[:icv])
    sa = SecurityAssociation(
        int.from_bytes(pkt[:4], "big"), encryption=suite, enc_key=full, esn=esn
    )
    res = EspCipher(sa).open(pkt, 0, len(pkt), hi)
    assert res.icv == "ok", "short ICVs are the leading bytes of the full GCM tag (RFC 4106 6)"
    assert res.decrypted and res.pad_ok
    plain = H(pt)
    assert res.plaintext == plain[: len(plain) - 2 - plain[-2]]
    assert res.next_header == plain[-1]
    bad = pkt[:-1] + bytes([pkt[-1] ^ 1])
    assert EspCipher(sa).open(bad, 0, len(bad), hi).icv == "bad"
    if esn:  # wrong ESN high half in the AAD must fail, as a receiver would
        assert EspCipher(sa).open(pkt, 0, len(pkt), hi + 1).icv == "bad"


def test_rfc4543_gmac_roundtrip_and_tamper() -> None:
    """AES-GMAC authenticates header+IV+payload and leaves the payload in clear (RFC 4543 3)."""
    sa = SecurityAssociation(
        0x4321,
        encryption=ENCRYPTION["aes128gmac"],
        enc_key=H("4c80cdefbb5d10da906ac73c3613a634") + H("2e443b68"),
    )
    pkt = EspCipher(sa).seal(7, b"clear payload", 17)
    assert b"clear payload" in pkt
    res = EspCipher(sa).open(pkt, 0, len(pkt))
    assert res.icv == "ok" and res.decrypted and res.next_header == 17
    assert res.plaintext == b"clear payload" and res.pad_ok
    tampered = pkt.replace(b"clear", b"Clear")
    assert EspCipher(sa).open(tampered, 0, len(tampered)).icv == "bad"


def test_rfc7539_chacha20_poly1305_vector_as_esp() -> None:
    """RFC 7539 2.8.2: key 80..9f, nonce 07000000||4041424344454647, AAD 50515253 c0c1c2c3..."""
    key = bytes(range(0x80, 0xA0))
    ct = H(
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca96712"
        "82fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58"
        "fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116"
    )
    tag = H("1ae10b594f09e26a7e902ecbd0600691")
    pkt, esn, hi = _aead_packet(H("50515253c0c1c2c3c4c5c6c7"), H("4041424344454647"), ct + tag)
    sa = SecurityAssociation(
        0x50515253, encryption=ENCRYPTION["chacha20poly1305"], enc_key=key + H("07000000"), esn=esn
    )
    res = EspCipher(sa).open(pkt, 0, len(pkt), hi)
    assert res.icv == "ok"
    # The RFC's plaintext is prose, not an ESP payload: its last bytes are no valid trailer.
    assert not res.decrypted and res.error
    assert EspCipher(sa).open(pkt, 0, len(pkt), hi ^ 1).icv == "bad"


# (integrity, key, data, full HMAC) from RFC 2202 (MD5/SHA-1) and RFC 4868 2.7.1 (SHA-2).
HMAC = [
    ("md5", "0b" * 16, b"Hi There", "9294727a3638bb1c13f48ef8158bfc9d"),
    ("md5", "4a656665", b"what do ya want for nothing?", "750c783e6ab0b503eaa86e310a5db738"),
    ("sha1", "0b" * 20, b"Hi There", "b617318655057264e28bc0b6fb378c8ef146be00"),
    ("sha1", "4a656665", b"what do ya want for nothing?",
     "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
    ("sha256", "0b" * 32, b"Hi There",
     "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7"),
    ("sha384", "0b" * 48, b"Hi There",
     "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee9737a959796489bddbc"
     "4c5df61d5b3297b4fb68dab9f1b582c2"),
    ("sha512", "0b" * 64, b"Hi There",
     "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8"
     "ac2878ebd5803f6f0b61dbce5e251ff8789a4722c1be65aea45fd464e89f8f5b"),
]  # fmt: skip


@pytest.mark.parametrize("integ,key,data,mac", HMAC)
def test_hmac_vectors_as_esp_icv(integ: str, key: str, data: bytes, mac: str) -> None:
    """The vector's message is read as SPI||seq||payload, NULL encryption; ICV = truncated MAC."""
    suite = INTEGRITY[integ]
    sa = SecurityAssociation(
        int.from_bytes(data[:4], "big"),
        encryption=ENCRYPTION["null"],
        integrity=suite,
        auth_key=H(key),
    )
    pkt = data + H(mac)[: suite.icv_len]
    res = EspCipher(sa).open(pkt, 0, len(pkt))
    assert res.icv == "ok"
    bad = data + bytes([pkt[len(data)] ^ 0x80]) + pkt[len(data) + 1 :]
    assert EspCipher(sa).open(bad, 0, len(bad)).icv == "bad"
