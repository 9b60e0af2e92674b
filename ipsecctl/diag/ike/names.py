"""IKE numbers as names: exchanges, payloads, transforms, attributes, notifies, vendor IDs.

Pure data (IANA "IKEv2 Parameters", "ISAKMP/IPsec DOI" registries and well-known vendor IDs)
so the decoder stays a loop over bytes and a name is fixed in one place.
"""

from __future__ import annotations

import hashlib

from parsers._convert import DH_KEYWORDS

EXCHANGES_V1 = {
    0: "NONE",
    1: "BASE",
    2: "MAIN_MODE",
    3: "AUTH_ONLY",
    4: "AGGRESSIVE",
    5: "INFORMATIONAL",
    6: "TRANSACTION",
    32: "QUICK_MODE",
    33: "NEW_GROUP_MODE",
}
EXCHANGES_V2 = {
    34: "IKE_SA_INIT",
    35: "IKE_AUTH",
    36: "CREATE_CHILD_SA",
    37: "INFORMATIONAL",
    38: "IKE_SESSION_RESUME",
    43: "IKE_INTERMEDIATE",
    44: "IKE_FOLLOWUP_KE",
}

PAYLOADS_V1 = {
    1: "SA",
    2: "P",
    3: "T",
    4: "KE",
    5: "ID",
    6: "CERT",
    7: "CR",
    8: "HASH",
    9: "SIG",
    10: "NONCE",
    11: "N",
    12: "D",
    13: "VID",
    14: "ATTR",
    15: "NAT-D",
    16: "NAT-OA",
    20: "NAT-D",
    21: "NAT-OA",
    130: "NAT-D",
    131: "NAT-OA",
    132: "FRAG",
}  # 15/16: NAT-T drafts 00-01
PAYLOADS_V2 = {
    33: "SA",
    34: "KE",
    35: "IDi",
    36: "IDr",
    37: "CERT",
    38: "CERTREQ",
    39: "AUTH",
    40: "Nonce",
    41: "N",
    42: "D",
    43: "V",
    44: "TSi",
    45: "TSr",
    46: "SK",
    47: "CP",
    48: "EAP",
    49: "GSPM",
    53: "SKF",
}

PROTOCOLS = {1: "IKE", 2: "AH", 3: "ESP", 4: "IPCOMP"}

TRANSFORM_TYPES = {1: "ENCR", 2: "PRF", 3: "INTEG", 4: "DH", 5: "ESN"}

ENCR = {
    1: "ENCR_DES_IV64",
    2: "ENCR_DES",
    3: "ENCR_3DES",
    4: "ENCR_RC5",
    5: "ENCR_IDEA",
    6: "ENCR_CAST",
    7: "ENCR_BLOWFISH",
    8: "ENCR_3IDEA",
    9: "ENCR_DES_IV32",
    11: "ENCR_NULL",
    12: "ENCR_AES_CBC",
    13: "ENCR_AES_CTR",
    14: "ENCR_AES_CCM_8",
    15: "ENCR_AES_CCM_12",
    16: "ENCR_AES_CCM_16",
    18: "ENCR_AES_GCM_8",
    19: "ENCR_AES_GCM_12",
    20: "ENCR_AES_GCM_16",
    21: "ENCR_NULL_AUTH_AES_GMAC",
    23: "ENCR_CAMELLIA_CBC",
    24: "ENCR_CAMELLIA_CTR",
    25: "ENCR_CAMELLIA_CCM_8",
    26: "ENCR_CAMELLIA_CCM_12",
    27: "ENCR_CAMELLIA_CCM_16",
    28: "ENCR_CHACHA20_POLY1305",
}
PRF = {
    1: "PRF_HMAC_MD5",
    2: "PRF_HMAC_SHA1",
    3: "PRF_HMAC_TIGER",
    4: "PRF_AES128_XCBC",
    5: "PRF_HMAC_SHA2_256",
    6: "PRF_HMAC_SHA2_384",
    7: "PRF_HMAC_SHA2_512",
    8: "PRF_AES128_CMAC",
}
INTEG = {
    0: "NONE",
    1: "AUTH_HMAC_MD5_96",
    2: "AUTH_HMAC_SHA1_96",
    3: "AUTH_DES_MAC",
    4: "AUTH_KPDK_MD5",
    5: "AUTH_AES_XCBC_96",
    6: "AUTH_HMAC_MD5_128",
    7: "AUTH_HMAC_SHA1_160",
    8: "AUTH_AES_CMAC_96",
    9: "AUTH_AES_128_GMAC",
    10: "AUTH_AES_192_GMAC",
    11: "AUTH_AES_256_GMAC",
    12: "AUTH_HMAC_SHA2_256_128",
    13: "AUTH_HMAC_SHA2_384_192",
    14: "AUTH_HMAC_SHA2_512_256",
}
DH_GROUPS = {0: "none", **DH_KEYWORDS}
ESN = {0: "NO_ESN", 1: "ESN"}

TRANSFORM_IDS = {1: ENCR, 2: PRF, 3: INTEG, 4: DH_GROUPS, 5: ESN}

#: strongSwan proposal keywords, used for ``chosen`` summaries and probe proposals.
ENCR_KEYWORDS = {
    3: "3des",
    11: "null",
    12: "aes{k}",
    13: "aes{k}ctr",
    14: "aes{k}ccm8",
    15: "aes{k}ccm12",
    16: "aes{k}ccm16",
    18: "aes{k}gcm8",
    19: "aes{k}gcm12",
    20: "aes{k}gcm16",
    21: "aes{k}gmac",
    23: "camellia{k}",
    28: "chacha20poly1305",
}
PRF_KEYWORDS = {
    1: "prfmd5",
    2: "prfsha1",
    4: "prfaesxcbc",
    5: "prfsha256",
    6: "prfsha384",
    7: "prfsha512",
    8: "prfaescmac",
}
INTEG_KEYWORDS = {
    1: "md5",
    2: "sha1",
    5: "aesxcbc",
    6: "md5_128",
    7: "sha1_160",
    8: "aescmac",
    12: "sha256",
    13: "sha384",
    14: "sha512",
}

NOTIFY_V2 = {
    1: "UNSUPPORTED_CRITICAL_PAYLOAD",
    4: "INVALID_IKE_SPI",
    5: "INVALID_MAJOR_VERSION",
    7: "INVALID_SYNTAX",
    9: "INVALID_MESSAGE_ID",
    11: "INVALID_SPI",
    14: "NO_PROPOSAL_CHOSEN",
    17: "INVALID_KE_PAYLOAD",
    24: "AUTHENTICATION_FAILED",
    34: "SINGLE_PAIR_REQUIRED",
    35: "NO_ADDITIONAL_SAS",
    36: "INTERNAL_ADDRESS_FAILURE",
    37: "FAILED_CP_REQUIRED",
    38: "TS_UNACCEPTABLE",
    39: "INVALID_SELECTORS",
    40: "UNACCEPTABLE_ADDRESSES",
    41: "UNEXPECTED_NAT_DETECTED",
    42: "USE_ASSIGNED_HoA",
    43: "TEMPORARY_FAILURE",
    44: "CHILD_SA_NOT_FOUND",
    45: "INVALID_GROUP_ID",
    46: "AUTHORIZATION_FAILED",
    47: "STATE_NOT_FOUND",
    16384: "INITIAL_CONTACT",
    16385: "SET_WINDOW_SIZE",
    16386: "ADDITIONAL_TS_POSSIBLE",
    16387: "IPCOMP_SUPPORTED",
    16388: "NAT_DETECTION_SOURCE_IP",
    16389: "NAT_DETECTION_DESTINATION_IP",
    16390: "COOKIE",
    16391: "USE_TRANSPORT_MODE",
    16392: "HTTP_CERT_LOOKUP_SUPPORTED",
    16393: "REKEY_SA",
    16394: "ESP_TFC_PADDING_NOT_SUPPORTED",
    16395: "NON_FIRST_FRAGMENTS_ALSO",
    16396: "MOBIKE_SUPPORTED",
    16397: "ADDITIONAL_IP4_ADDRESS",
    16398: "ADDITIONAL_IP6_ADDRESS",
    16399: "NO_ADDITIONAL_ADDRESSES",
    16400: "UPDATE_SA_ADDRESSES",
    16401: "COOKIE2",
    16402: "NO_NATS_ALLOWED",
    16403: "AUTH_LIFETIME",
    16404: "MULTIPLE_AUTH_SUPPORTED",
    16405: "ANOTHER_AUTH_FOLLOWS",
    16406: "REDIRECT_SUPPORTED",
    16407: "REDIRECT",
    16408: "REDIRECTED_FROM",
    16409: "TICKET_LT_OPAQUE",
    16410: "TICKET_REQUEST",
    16411: "TICKET_ACK",
    16412: "TICKET_NACK",
    16413: "TICKET_OPAQUE",
    16414: "LINK_ID",
    16415: "USE_WESP_MODE",
    16416: "ROHC_SUPPORTED",
    16417: "EAP_ONLY_AUTHENTICATION",
    16418: "CHILDLESS_IKEV2_SUPPORTED",
    16419: "QUICK_CRASH_DETECTION",
    16420: "IKEV2_MESSAGE_ID_SYNC_SUPPORTED",
    16421: "IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED",
    16422: "IKEV2_MESSAGE_ID_SYNC",
    16423: "IPSEC_REPLAY_COUNTER_SYNC",
    16424: "SECURE_PASSWORD_METHODS",
    16425: "PSK_PERSIST",
    16426: "PSK_CONFIRM",
    16427: "ERX_SUPPORTED",
    16428: "IFOM_CAPABILITY",
    16429: "SENDER_REQUEST_ID",
    16430: "IKEV2_FRAGMENTATION_SUPPORTED",
    16431: "SIGNATURE_HASH_ALGORITHMS",
    16432: "CLONE_IKE_SA_SUPPORTED",
    16433: "CLONE_IKE_SA",
    16434: "PUZZLE",
    16435: "USE_PPK",
    16436: "PPK_IDENTITY",
    16437: "NO_PPK_AUTH",
    16438: "INTERMEDIATE_EXCHANGE_SUPPORTED",
    16439: "IP4_ALLOWED",
    16440: "IP6_ALLOWED",
    16441: "ADDITIONAL_KEY_EXCHANGE",
    16442: "USE_AGGFRAG",
}
NOTIFY_V1 = {
    1: "INVALID_PAYLOAD_TYPE",
    2: "DOI_NOT_SUPPORTED",
    3: "SITUATION_NOT_SUPPORTED",
    4: "INVALID_COOKIE",
    5: "INVALID_MAJOR_VERSION",
    6: "INVALID_MINOR_VERSION",
    7: "INVALID_EXCHANGE_TYPE",
    8: "INVALID_FLAGS",
    9: "INVALID_MESSAGE_ID",
    10: "INVALID_PROTOCOL_ID",
    11: "INVALID_SPI",
    12: "INVALID_TRANSFORM_ID",
    13: "ATTRIBUTES_NOT_SUPPORTED",
    14: "NO_PROPOSAL_CHOSEN",
    15: "BAD_PROPOSAL_SYNTAX",
    16: "PAYLOAD_MALFORMED",
    17: "INVALID_KEY_INFORMATION",
    18: "INVALID_ID_INFORMATION",
    19: "INVALID_CERT_ENCODING",
    20: "INVALID_CERTIFICATE",
    21: "CERT_TYPE_UNSUPPORTED",
    22: "INVALID_CERT_AUTHORITY",
    23: "INVALID_HASH_INFORMATION",
    24: "AUTHENTICATION_FAILED",
    25: "INVALID_SIGNATURE",
    26: "ADDRESS_NOTIFICATION",
    27: "NOTIFY_SA_LIFETIME",
    28: "CERTIFICATE_UNAVAILABLE",
    29: "UNSUPPORTED_EXCHANGE_TYPE",
    30: "UNEQUAL_PAYLOAD_LENGTHS",
    9101: "Firewall-1",
    24576: "RESPONDER_LIFETIME",
    24577: "REPLAY_STATUS",
    24578: "INITIAL_CONTACT",
    36136: "R_U_THERE",
    36137: "R_U_THERE_ACK",
}

ID_TYPES = {
    1: "ID_IPV4_ADDR",
    2: "ID_FQDN",
    3: "ID_RFC822_ADDR",
    4: "ID_IPV4_ADDR_SUBNET",
    5: "ID_IPV6_ADDR",
    6: "ID_IPV6_ADDR_SUBNET",
    7: "ID_IPV4_ADDR_RANGE",
    8: "ID_IPV6_ADDR_RANGE",
    9: "ID_DER_ASN1_DN",
    10: "ID_DER_ASN1_GN",
    11: "ID_KEY_ID",
    12: "ID_FC_NAME",
    13: "ID_NULL",
}
AUTH_METHODS_V2 = {
    1: "RSA_SIG",
    2: "SHARED_KEY_MIC",
    3: "DSS_SIG",
    9: "ECDSA_SHA256_P256",
    10: "ECDSA_SHA384_P384",
    11: "ECDSA_SHA512_P521",
    12: "GSPAM",
    13: "NULL",
    14: "DIGITAL_SIGNATURE",
}
TS_TYPES = {7: "TS_IPV4_ADDR_RANGE", 8: "TS_IPV6_ADDR_RANGE"}
CP_TYPES = {1: "CFG_REQUEST", 2: "CFG_REPLY", 3: "CFG_SET", 4: "CFG_ACK"}
CP_ATTRS = {
    1: "INTERNAL_IP4_ADDRESS",
    2: "INTERNAL_IP4_NETMASK",
    3: "INTERNAL_IP4_DNS",
    4: "INTERNAL_IP4_NBNS",
    6: "INTERNAL_IP4_DHCP",
    7: "APPLICATION_VERSION",
    8: "INTERNAL_IP6_ADDRESS",
    10: "INTERNAL_IP6_DNS",
    12: "INTERNAL_IP6_DHCP",
    13: "INTERNAL_IP4_SUBNET",
    14: "SUPPORTED_ATTRIBUTES",
    15: "INTERNAL_IP6_SUBNET",
}
CERT_ENCODINGS = {
    1: "PKCS #7 wrapped X.509 certificate",
    2: "PGP Certificate",
    3: "DNS Signed Key",
    4: "X.509 Certificate - Signature",
    5: "X.509 Certificate - Key Exchange",
    6: "Kerberos Tokens",
    7: "Certificate Revocation List (CRL)",
    8: "Authority Revocation List (ARL)",
    9: "SPKI Certificate",
    10: "X.509 Certificate - Attribute",
    11: "Raw RSA Key",
    12: "Hash and URL of X.509 certificate",
    13: "Hash and URL of X.509 bundle",
}

# IKEv1 phase 1 (Oakley) attribute classes and values (RFC 2409 appendix A)
V1_P1_ATTRS = {
    1: "encryption",
    2: "hash",
    3: "auth",
    4: "group",
    5: "group_type",
    6: "group_prime",
    7: "group_gen1",
    8: "group_gen2",
    9: "group_curve_a",
    10: "group_curve_b",
    11: "life_type",
    12: "life_duration",
    13: "prf",
    14: "key_length",
    15: "field_size",
    16: "group_order",
}
V1_ENC = {
    1: "DES",
    2: "IDEA",
    3: "Blowfish",
    4: "RC5",
    5: "3DES",
    6: "CAST",
    7: "AES",
    8: "Camellia",
}
V1_HASH = {1: "MD5", 2: "SHA1", 3: "Tiger", 4: "SHA2-256", 5: "SHA2-384", 6: "SHA2-512"}
V1_AUTH = {
    1: "PSK",
    2: "DSS_Sig",
    3: "RSA_Sig",
    4: "RSA_Enc",
    5: "RSA_RevEnc",
    6: "ElGamal_Enc",
    7: "ElGamal_RevEnc",
    8: "ECDSA_Sig",
    9: "ECDSA_SHA256",
    10: "ECDSA_SHA384",
    11: "ECDSA_SHA512",
    64221: "Hybrid_InitRSA",
    64222: "Hybrid_RespRSA",
    64223: "Hybrid_InitDSS",
    64224: "Hybrid_RespDSS",
    65001: "XAUTH_InitPreShared",
    65002: "XAUTH_RespPreShared",
    65003: "XAUTH_InitDSS",
    65004: "XAUTH_RespDSS",
    65005: "XAUTH_InitRSA",
    65006: "XAUTH_RespRSA",
    65007: "XAUTH_InitRSAEncryption",
    65008: "XAUTH_RespRSAEncryption",
    65009: "XAUTH_InitRSARevisedEncryption",
    65010: "XAUTH_RespRSARevisedEncryption",
}
V1_LIFE_TYPE = {1: "Seconds", 2: "Kilobytes"}
V1_P1_VALUES = {1: V1_ENC, 2: V1_HASH, 3: V1_AUTH, 11: V1_LIFE_TYPE, 13: {}}

# IKEv1 phase 2 (IPsec DOI, RFC 2407 section 4.5)
V1_P2_ATTRS = {
    1: "life_type",
    2: "life_duration",
    3: "group",
    4: "encapsulation",
    5: "auth",
    6: "key_length",
    7: "key_rounds",
    8: "compress_dict_size",
    9: "compress_private_alg",
    11: "ecn_tunnel",
    12: "ext_seq",
}
V1_ENCAP = {
    1: "Tunnel",
    2: "Transport",
    3: "UDP-Encapsulated-Tunnel",
    4: "UDP-Encapsulated-Transport",
    61443: "UDP-Encapsulated-Tunnel (draft)",
    61444: "UDP-Encapsulated-Transport (draft)",
}
V1_P2_AUTH = {
    1: "HMAC-MD5",
    2: "HMAC-SHA1",
    3: "DES-MAC",
    4: "KPDK",
    5: "HMAC-SHA2-256",
    6: "HMAC-SHA2-384",
    7: "HMAC-SHA2-512",
    9: "AES-XCBC-MAC",
}
V1_P2_VALUES = {1: V1_LIFE_TYPE, 4: V1_ENCAP, 5: V1_P2_AUTH}
V1_ESP_IDS = {
    1: "ESP_DES_IV64",
    2: "ESP_DES",
    3: "ESP_3DES",
    4: "ESP_RC5",
    5: "ESP_IDEA",
    6: "ESP_CAST",
    7: "ESP_BLOWFISH",
    8: "ESP_3IDEA",
    9: "ESP_DES_IV32",
    10: "ESP_RC4",
    11: "ESP_NULL",
    12: "ESP_AES",
    13: "ESP_AES_CTR",
    14: "ESP_AES_CCM_8",
    15: "ESP_AES_CCM_12",
    16: "ESP_AES_CCM_16",
    18: "ESP_AES_GCM_8",
    19: "ESP_AES_GCM_12",
    20: "ESP_AES_GCM_16",
}
V1_AH_IDS = {
    2: "AH_MD5",
    3: "AH_SHA",
    4: "AH_DES",
    5: "AH_SHA2_256",
    6: "AH_SHA2_384",
    7: "AH_SHA2_512",
}


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


#: Exact vendor IDs (hex) to names.
VENDOR_IDS: dict[str, str] = {
    "4a131c81070358455c5728f20e95452f": "RFC 3947 NAT-T",
    "4485152d18b6bbcd0be8a8469579ddcc": "draft-ietf-ipsec-nat-t-ike-00",
    "16f6ca16e4a4066d83821a0f0aeaa862": "draft-ietf-ipsec-nat-t-ike-01",
    "cd60464335df21f87cfdb2fc68b6a448": "draft-ietf-ipsec-nat-t-ike-02",
    "90cb80913ebb696e086381b5ec427b1f": "draft-ietf-ipsec-nat-t-ike-02\\n",
    "7d9419a65310ca6f2c179d9215529d56": "draft-ietf-ipsec-nat-t-ike-03",
    "afcad71368a1f1c96b8696fc77570100": "Dead Peer Detection v1.0",
    "12f5f28c457168a9702d9fe274cc0100": "Cisco Unity",
    "09002689dfd6b712": "XAUTH",
    "4048b7d56ebce88525e7de7f00d6c2d3": "FRAGMENTATION",
    "4048b7d56ebce88525e7de7f00d6c2d3c0000000": "FRAGMENTATION",
    "4048b7d56ebce88525e7de7f00d6c2d380000000": "FRAGMENTATION (Cisco)",
    "26244d38eddb61b3172a36e3d0cfb819": "Microsoft Vid-Initial-Contact",
    "fb1de3cdf341b7ea16b7e5be0855f120": "MS-Negotiation Discovery Capable",
    "e3a5966a76379fe707228231e5ce8652": "IKE CGA version 1",
    "166f932d55eb64d8e4df4fd37e2313f0d0fd84510000000000000000": "Netscreen-15",
    "1f07f70eaa6514d3b0fa96542a500100": "Cisco IOS (CISCO-CONCENTRATOR)",
    "4f45606c50487c5662707575": "Openswan",
    "464c455856504e2d535550504f52544544": "Cisco FlexVPN Supported",
    _md5("strongSwan"): "strongSwan",
    "8299031757a36082c6a621de00000000": "KAME/racoon",
}
for _v in (
    "4.0.5",
    "4.6.4",
    "5.0.0",
    "5.5.0",
    "5.6.0",
    "5.8.4",
    "5.9.0",
    "5.9.5",
    "5.9.8",
    "5.9.13",
    "6.0.0",
):
    VENDOR_IDS[_md5(f"strongSwan {_v}")] = f"strongSwan {_v}"

#: Prefixes (hex) for vendor IDs that carry versions or flags after a fixed part.
VENDOR_PREFIXES: list[tuple[str, str]] = [
    ("f4ed19e0c114eb516faaac0ee37daf2807b4381f000000010000138d", "Firewall-1 NGX or later"),
    ("f4ed19e0c114eb516faaac0ee37daf2807b4381f", "Check Point Firewall-1"),
    ("1e2b516905991c7d7c96fcbfb587e461", "MS NT5 ISAKMPOAKLEY"),
    ("4865617274426561745f4e6f74696679", "HeartBeat_Notify"),
    ("166f932d55eb64d8e4df4fd37e2313f0d0fd8451", "Netscreen"),
    ("4048b7d56ebce88525e7de7f00d6c2d3", "FRAGMENTATION"),
    ("12f5f28c457168a9702d9fe274cc", "Cisco Unity"),
    ("afcad71368a1f1c96b8696fc7757", "Dead Peer Detection"),
    ("4f45", "Openswan/Libreswan"),
    ("434953434f28434f5059524947485429", "Cisco IKEv2 (CISCO(COPYRIGHT))"),
    ("434953434f2d44454c4554452d524541534f4e", "CISCO-DELETE-REASON"),
    ("434953434f2d47524500", "CISCO-GRE-MODE"),
]


def vendor_name(vid: bytes) -> str | None:
    """Name of a vendor ID payload's data, or None when unknown."""
    h = vid.hex()
    if h in VENDOR_IDS:
        return VENDOR_IDS[h]
    best = None
    for prefix, name in VENDOR_PREFIXES:
        if h.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, name)
    return best[1] if best else None


def name_of(table: dict[int, str], value: int) -> str:
    """A table's name for *value*, or ``UNKNOWN_<value>`` (never invented)."""
    return table.get(value, f"UNKNOWN_{value}")
