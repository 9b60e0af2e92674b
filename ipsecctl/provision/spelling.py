"""How each platform spells the product's algorithm keywords (strongSwan words, the vocabulary).

One table per platform and place, so one module says how ``aes256gcm16`` is written on IOS, in
an IOS-XE IKEv2 proposal or on an ASA, and no template can drift from another.
"""

from __future__ import annotations

# IOS "crypto isakmp policy" encryption / hash words
IOS_V1_ENC = {
    "aes128": "aes",
    "aes192": "aes 192",
    "aes256": "aes 256",
    "3des": "3des",
    "des": "des",
}
IOS_V1_HASH = {
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
    "sha1": "sha",
    "md5": "md5",
}
# IOS-XE "crypto ikev2 proposal"
IOS_V2_ENC = {
    "aes128": "aes-cbc-128",
    "aes192": "aes-cbc-192",
    "aes256": "aes-cbc-256",
    "3des": "3des",
    "des": "des",
}
IOS_V2_INTEG = {
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
    "sha1": "sha1",
    "md5": "md5",
}
# IOS transform-set words
IOS_ESP_ENC = {
    "aes128": "esp-aes",
    "aes192": "esp-aes 192",
    "aes256": "esp-aes 256",
    "aes128gcm16": "esp-gcm",
    "aes192gcm16": "esp-gcm 192",
    "aes256gcm16": "esp-gcm 256",
    "3des": "esp-3des",
    "des": "esp-des",
}
IOS_ESP_INTEG = {
    "sha256": "esp-sha256-hmac",
    "sha384": "esp-sha384-hmac",
    "sha512": "esp-sha512-hmac",
    "sha1": "esp-sha-hmac",
    "md5": "esp-md5-hmac",
}
# ASA 9.x "crypto ikev2 policy" and "crypto ipsec ikev2 ipsec-proposal"
ASA_V2_ENC = {
    "aes128": "aes",
    "aes192": "aes-192",
    "aes256": "aes-256",
    "3des": "3des",
    "des": "des",
}
ASA_V2_INTEG = {
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
    "sha1": "sha",
    "md5": "md5",
}
ASA_ESP_ENC = {
    "aes128": "aes",
    "aes192": "aes-192",
    "aes256": "aes-256",
    "aes128gcm16": "aes-gcm",
    "aes192gcm16": "aes-gcm-192",
    "aes256gcm16": "aes-gcm-256",
    "3des": "3des",
    "des": "des",
}
ASA_ESP_INTEG = {
    "sha256": "sha-256",
    "sha384": "sha-384",
    "sha512": "sha-512",
    "sha1": "sha-1",
    "md5": "md5",
}
# IOS manual SAs: "set session-key ... esp SPI cipher HEX [authenticator HEX]" and the
# transform set they go with; key lengths in bytes (cipher, authenticator)
MANUAL_CIPHER_BYTES = {"aes128": 16, "aes192": 24, "aes256": 32, "3des": 24, "des": 8}
MANUAL_AUTH_BYTES = {"sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64, "md5": 16}
# Wireshark esp_sa names (the keys file diag esp reads)
WIRESHARK_ENC = {
    "aes128": "AES-CBC [RFC3602]",
    "aes192": "AES-CBC [RFC3602]",
    "aes256": "AES-CBC [RFC3602]",
    "3des": "TripleDES-CBC [RFC2451]",
    "des": "DES-CBC [RFC2405]",
}
WIRESHARK_AUTH = {
    "sha1": "HMAC-SHA-1-96 [RFC2404]",
    "sha256": "HMAC-SHA-256-128 [RFC4868]",
    "sha384": "HMAC-SHA-384-192 [RFC4868]",
    "sha512": "HMAC-SHA-512-256 [RFC4868]",
    "md5": "HMAC-MD5-96 [RFC2403]",
}
