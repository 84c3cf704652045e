"""Wallet ownership: chains, address formats, and the signatures that prove control.

An exchange proves that it controls a wallet by signing, with the wallet's key,
the **challenge message** of :func:`challenge_message`, which names the exchange,
the round and the address.  A signature made for another round, another
exchange or another address therefore proves nothing here, and is reported as
such.

Supported chains (:data:`CHAINS`)
---------------------------------
* ``bitcoin`` (mainnet): legacy P2PKH (``1…``), native segwit P2WPKH
  (``bc1q…``, 42 characters) and nested segwit P2SH-P2WPKH (``3…``).
  Signatures use the common *Bitcoin signed message* format: 65 bytes, base64,
  a header byte then ``r`` and ``s``; the signed hash is
  ``SHA256(SHA256(b"\\x18Bitcoin Signed Message:\\n" + varint(len(m)) + m))``.
  Header bytes 27–30 mean an uncompressed key, 31–34 a compressed key, and
  35–38 / 39–42 (BIP-137) a compressed key for a P2SH-P2WPKH / P2WPKH address;
  segwit addresses accept any compressed-key header (wallets differ).  P2WSH
  and taproot addresses have no single key that this format can prove, and are
  reported as unsupported.
* EVM chains (:data:`EVM_CHAINS`: ``ethereum``, ``bsc``, ``polygon``, …) share
  the ``0x`` + 40 hex address; a mixed-case address must carry a valid EIP-55
  checksum.  Signatures are ``personal_sign`` (EIP-191 version ``0x45``): 65
  bytes hex ``r || s || v`` with ``v`` in {27, 28} or {0, 1}, over
  ``keccak256(b"\\x19Ethereum Signed Message:\\n" + str(len(m)) + m)``.

The elliptic-curve work (public-key recovery on secp256k1) is libsecp256k1's,
through ``coincurve``; Keccak-256 and RIPEMD-160 come from ``pycryptodome``;
base58check from ``base58``; bech32/bech32m from ``bech32m``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Optional, Tuple

import base58
import bech32m
import coincurve
from Crypto.Hash import RIPEMD160, keccak

from ..errors import ReservesError

__all__ = [
    "BITCOIN_CHAINS",
    "EVM_CHAINS",
    "CHAINS",
    "Address",
    "AddressError",
    "SignatureCheck",
    "challenge_message",
    "parse_challenge",
    "parse_address",
    "check_signature",
    "signer_of",
    "sign_message",
    "address_of_key",
]

BITCOIN_CHAINS: Tuple[str, ...] = ("bitcoin",)
EVM_CHAINS: Tuple[str, ...] = (
    "ethereum", "bsc", "polygon", "arbitrum", "optimism", "base", "avalanche",
)
#: Every chain whose addresses and signatures stark-por can check.
CHAINS: Tuple[str, ...] = BITCOIN_CHAINS + EVM_CHAINS

_CHALLENGE_TITLE = "stark-por proof of reserves"
_MAX_NAME = 200


# --------------------------------------------------------------------------
# the challenge message
# --------------------------------------------------------------------------


def _check_field(what: str, value: str) -> str:
    if not isinstance(value, str):
        raise ReservesError(f"{what} must be a string, not {type(value).__name__}")
    if not value or value != value.strip():
        raise ReservesError(f"{what} must be non-empty, without surrounding spaces", value=value)
    if len(value) > _MAX_NAME:
        raise ReservesError(f"{what} is longer than {_MAX_NAME} characters", value=value)
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ReservesError(f"{what} must not contain line breaks or control characters", value=value)
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise ReservesError(f"{what} is not valid Unicode (a lone surrogate)", value=value)
    return value


def challenge_message(exchange: str, round_id: str, address: str) -> str:
    """The exact text a wallet's key signs to prove that ``exchange`` controls it in ``round_id``.

    Four lines joined by ``"\\n"``, no trailing newline, UTF-8 when hashed::

        stark-por proof of reserves
        exchange: <exchange>
        round: <round_id>
        address: <address>

    ``address`` is written in its canonical form (:attr:`Address.canonical`):
    EIP-55 checksummed for EVM chains, lower case for bech32, as is for base58.
    Names must be non-empty, at most 200 characters, free of control characters
    and of surrounding spaces (raises :class:`ReservesError` otherwise).
    """
    exchange = _check_field("exchange name", exchange)
    round_id = _check_field("round id", round_id)
    address = _check_field("address", address)
    return f"{_CHALLENGE_TITLE}\nexchange: {exchange}\nround: {round_id}\naddress: {address}"


def parse_challenge(text: str) -> Optional[dict]:
    """``{"exchange", "round", "address"}`` of a challenge message, or ``None`` if ``text`` is not one."""
    lines = text.split("\n")
    if len(lines) != 4 or lines[0] != _CHALLENGE_TITLE:
        return None
    out = {}
    for key, line in zip(("exchange", "round", "address"), lines[1:]):
        prefix = f"{key}: "
        if not line.startswith(prefix):
            return None
        out[key] = line[len(prefix):]
    return out


# --------------------------------------------------------------------------
# addresses
# --------------------------------------------------------------------------


class AddressError(ValueError):
    """Why an address is not valid for its chain (``str`` is the reason)."""


@dataclass(frozen=True)
class Address:
    """A parsed address.

    ``kind`` is ``"p2pkh"``, ``"p2sh"``, ``"p2wpkh"``, ``"p2wsh"``, ``"p2tr"``,
    ``"witness"`` (another segwit version) or ``"evm"``; ``payload`` the 20-byte
    key or script hash (or the witness program, or the EVM address bytes).
    """

    chain: str
    kind: str
    canonical: str
    payload: bytes

    @property
    def signable(self) -> bool:
        """Whether a message signature can prove control of this address."""
        return self.kind in ("p2pkh", "p2sh", "p2wpkh", "evm")

    @property
    def key(self) -> Tuple[str, str]:
        """Identity for duplicate detection: ``(chain, canonical address)``."""
        return (self.chain, self.canonical)


_EVM_RE = re.compile(r"0x[0-9a-fA-F]{40}\Z")


def _keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def _hash160(data: bytes) -> bytes:
    return RIPEMD160.new(hashlib.sha256(data).digest()).digest()


def _eip55(addr20: bytes) -> str:
    """EIP-55 mixed-case checksum encoding of a 20-byte address."""
    hexaddr = addr20.hex()
    digest = _keccak256(hexaddr.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if int(d, 16) >= 8 else c for c, d in zip(hexaddr, digest))


def parse_address(chain: str, text: str) -> Address:
    """Parses ``text`` as an address on ``chain``; raises :class:`AddressError` with the reason."""
    if chain in EVM_CHAINS:
        if not _EVM_RE.match(text):
            raise AddressError("is not an EVM address (0x followed by 40 hex digits)")
        raw = bytes.fromhex(text[2:])
        canonical = _eip55(raw)
        body = text[2:]
        if body != body.lower() and body != body.upper() and text != canonical:
            raise AddressError(f"has a wrong EIP-55 checksum (a typo?); the checksummed form is {canonical}")
        return Address(chain, "evm", canonical, raw)
    if chain in BITCOIN_CHAINS:
        return _parse_bitcoin(chain, text)
    raise AddressError(f"chain {chain!r} is not supported")


def _parse_bitcoin(chain: str, text: str) -> Address:
    low = text.lower()
    if low.startswith(("bc1", "tb1", "bcrt1")):
        if low.startswith(("tb1", "bcrt1")):
            raise AddressError("is a testnet/regtest address, not a bitcoin mainnet one")
        try:
            witver, prog = bech32m.decode("bc", text)
        except bech32m.DecodeError:
            raise AddressError("is not a valid bech32 segwit address (bad checksum, case or length)") from None
        prog = bytes(prog)
        if witver == 0:
            kind = "p2wpkh" if len(prog) == 20 else "p2wsh"
        elif witver == 1 and len(prog) == 32:
            kind = "p2tr"
        else:
            kind = "witness"
        return Address(chain, kind, low, prog)
    try:
        raw = base58.b58decode_check(text)
    except ValueError:
        raise AddressError("is not a valid base58check address (bad checksum or characters)") from None
    if len(raw) != 21:
        raise AddressError("is not a bitcoin address (wrong length)")
    version = raw[0]
    if version == 0x00:
        return Address(chain, "p2pkh", text, raw[1:])
    if version == 0x05:
        return Address(chain, "p2sh", text, raw[1:])
    if version in (0x6F, 0xC4):
        raise AddressError("is a testnet address, not a bitcoin mainnet one")
    raise AddressError(f"has an unknown version byte 0x{version:02x} for bitcoin")


def _encode(chain: str, kind: str, payload: bytes) -> str:
    if kind == "evm":
        return _eip55(payload)
    if kind == "p2pkh":
        return base58.b58encode_check(b"\x00" + payload).decode("ascii")
    if kind == "p2sh":
        return base58.b58encode_check(b"\x05" + payload).decode("ascii")
    if kind == "p2wpkh":
        return bech32m.encode("bc", 0, payload)
    raise ValueError(f"cannot encode a {kind} address")


def _address_for_pubkey(chain: str, kind: str, pub: coincurve.PublicKey, compressed: bool = True) -> str:
    """The address of ``kind`` that ``pub`` controls."""
    if kind == "evm":
        return _eip55(_keccak256(pub.format(compressed=False)[1:])[-20:])
    if kind == "p2pkh":
        return _encode(chain, kind, _hash160(pub.format(compressed=compressed)))
    if kind == "p2sh":  # P2SH-P2WPKH: the script hash of OP_0 <20-byte key hash>
        return _encode(chain, kind, _hash160(b"\x00\x14" + _hash160(pub.format(compressed=True))))
    if kind == "p2wpkh":
        return _encode(chain, kind, _hash160(pub.format(compressed=True)))
    raise ValueError(f"no single-key address of kind {kind}")


def address_of_key(chain: str, secret: bytes, kind: Optional[str] = None, *, compressed: bool = True) -> str:
    """The address that private key ``secret`` (32 bytes) controls on ``chain``.

    ``kind`` is ``"p2pkh"``, ``"p2sh"`` or ``"p2wpkh"`` for bitcoin (default
    ``"p2wpkh"``), ignored for EVM chains.  For tests and the demo.
    """
    pub = coincurve.PrivateKey(secret).public_key
    if chain in EVM_CHAINS:
        return _address_for_pubkey(chain, "evm", pub)
    if chain in BITCOIN_CHAINS:
        return _address_for_pubkey(chain, kind or "p2wpkh", pub, compressed)
    raise ValueError(f"chain {chain!r} is not supported")


# --------------------------------------------------------------------------
# message hashes, signing, recovery
# --------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFFFFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


def bitcoin_message_hash(message: str) -> bytes:
    """Double SHA-256 of the Bitcoin signed-message envelope around ``message`` (UTF-8)."""
    m = message.encode("utf-8")
    data = b"\x18Bitcoin Signed Message:\n" + _varint(len(m)) + m
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def evm_message_hash(message: str) -> bytes:
    """EIP-191 ``personal_sign`` hash of ``message`` (UTF-8)."""
    m = message.encode("utf-8")
    return _keccak256(b"\x19Ethereum Signed Message:\n" + str(len(m)).encode("ascii") + m)


# Bitcoin header byte: 27 + recovery id + one of these offsets.
_BTC_HEADER_OFFSET = {"uncompressed": 0, "p2pkh": 4, "p2sh": 8, "p2wpkh": 12}


def sign_message(chain: str, secret: bytes, message: str, kind: Optional[str] = None, *, compressed: bool = True) -> str:
    """Signs ``message`` with private key ``secret`` the way wallets on ``chain`` do.

    Bitcoin: base64 of the 65-byte signed-message signature, with the BIP-137
    header for ``kind`` (``"p2pkh"`` and ``compressed=False`` gives the
    uncompressed-key header). EVM: ``0x`` + hex of ``r || s || v``, ``v`` in
    {27, 28}.  Nonces are RFC 6979 (deterministic).  For tests and the demo: an
    exchange signs with its own wallets.
    """
    key = coincurve.PrivateKey(secret)
    if chain in EVM_CHAINS:
        sig = key.sign_recoverable(evm_message_hash(message), hasher=None)
        return "0x" + (sig[:64] + bytes([27 + sig[64]])).hex()
    if chain in BITCOIN_CHAINS:
        kind = kind or "p2wpkh"
        offset = _BTC_HEADER_OFFSET["uncompressed" if kind == "p2pkh" and not compressed else kind]
        sig = key.sign_recoverable(bitcoin_message_hash(message), hasher=None)
        return base64.b64encode(bytes([27 + offset + sig[64]]) + sig[:64]).decode("ascii")
    raise ValueError(f"chain {chain!r} is not supported")


class _BadSignature(ValueError):
    pass


def _decode_bitcoin_signature(text: str) -> Tuple[bytes, int, bool]:
    """``(r || s || recid, header offset class, compressed)`` or :class:`_BadSignature`."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise _BadSignature("is not base64 (Bitcoin message signatures are 65 bytes in base64)") from None
    if len(raw) != 65:
        raise _BadSignature(f"is {len(raw)} bytes, not 65")
    header = raw[0]
    if not 27 <= header <= 42:
        raise _BadSignature(f"has header byte {header}, not 27–42")
    recid = (header - 27) & 3
    klass = (header - 27) >> 2  # 0 uncompressed, 1 compressed P2PKH, 2 P2SH-P2WPKH, 3 P2WPKH
    return raw[1:] + bytes([recid]), klass, klass != 0


def _decode_evm_signature(text: str) -> bytes:
    t = text.strip()
    if t[:2] in ("0x", "0X"):
        t = t[2:]
    try:
        raw = bytes.fromhex(t)
    except ValueError:
        raise _BadSignature("is not hex (personal_sign signatures are 0x + 130 hex digits)") from None
    if len(raw) != 65:
        raise _BadSignature(f"is {len(raw)} bytes, not 65")
    v = raw[64]
    if v in (27, 28):
        v -= 27
    elif v not in (0, 1):
        raise _BadSignature(f"has v = {raw[64]}, not 27/28 (or 0/1)")
    return raw[:64] + bytes([v])


def _recover(sig65: bytes, digest: bytes) -> coincurve.PublicKey:
    try:
        return coincurve.PublicKey.from_signature_and_message(sig65, digest, hasher=None)
    except Exception:  # libsecp256k1 refuses r or s out of range, or no point for r
        raise _BadSignature("is not a valid secp256k1 signature (no public key can be recovered)") from None


def signer_of(address: Address, signature: str, message: str) -> str:
    """The address (of the same kind as ``address``) whose key made ``signature`` over ``message``.

    Raises :class:`ValueError` (with the reason) for a malformed signature.
    """
    if address.kind == "evm":
        pub = _recover(_decode_evm_signature(signature), evm_message_hash(message))
        return _address_for_pubkey(address.chain, "evm", pub)
    sig, klass, compressed = _decode_bitcoin_signature(signature)
    if address.kind == "p2pkh" and klass > 1:
        raise _BadSignature("has a segwit header byte for a legacy (P2PKH) address")
    if address.kind in ("p2sh", "p2wpkh") and not compressed:
        raise _BadSignature("has an uncompressed-key header byte; segwit keys are compressed")
    pub = _recover(sig, bitcoin_message_hash(message))
    return _address_for_pubkey(address.chain, address.kind, pub, compressed)


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of checking one wallet's ownership signature.

    ``status`` is one of:

    * ``"verified"`` -- signed by this address's key over this round's challenge;
    * ``"unsigned"`` -- no signature given;
    * ``"bad_signature"`` -- malformed, or does not verify for this address and
      challenge (with no signed message given to tell why);
    * ``"other_round"`` -- the signed message is the challenge of another round;
    * ``"other_message"`` -- the signed message is not this exchange's challenge;
    * ``"other_address"`` -- made by another address's key, or the signed
      message names another address;
    * ``"unsupported_address"`` -- the address kind cannot sign messages.

    ``detail`` says what was wrong in words; ``signer`` is the address the
    signature recovers to, when that is meaningful.
    """

    status: str
    detail: str
    signer: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.status == "verified"


def check_signature(
    address: Address,
    signature: Optional[str],
    *,
    exchange: str,
    round_id: str,
    message: Optional[str] = None,
) -> SignatureCheck:
    """Checks that ``signature`` proves control of ``address`` for ``exchange`` in ``round_id``.

    ``message``, when the reserves file gives it, is the text the wallet says it
    signed: it is only used to explain a failure (another round, another
    exchange, another address); success always requires a signature over
    :func:`challenge_message` itself.
    """
    expected = challenge_message(exchange, round_id, address.canonical)
    if not address.signable:
        return SignatureCheck("unsupported_address",
                              f"{address.kind} addresses cannot prove control with a message signature")
    if signature is None or not signature.strip():
        return SignatureCheck("unsigned", "no ownership signature")
    try:
        signer = signer_of(address, signature, expected)
    except _BadSignature as e:
        return SignatureCheck("bad_signature", f"signature {e}")
    if signer == address.canonical:
        return SignatureCheck("verified", "signed this round's challenge", signer)

    if message is not None and message != expected:
        try:
            by_this_key = signer_of(address, signature, message) == address.canonical
        except _BadSignature:
            by_this_key = False
        return _explain_other_message(address, message, exchange, round_id, by_this_key)
    if message is not None:  # the right message, the wrong key
        return SignatureCheck("other_address", f"signed by {signer}, not by this address", signer)
    return SignatureCheck(
        "bad_signature",
        "does not verify for this address and this round's challenge "
        "(signed by another key, or over another message or round)",
        signer,
    )


def _explain_other_message(address: Address, message: str, exchange: str, round_id: str,
                           by_this_key: bool) -> SignatureCheck:
    who = "signed by this address, but" if by_this_key else "does not verify, and was"
    fields = parse_challenge(message)
    if fields is None:
        return SignatureCheck("other_message", f"{who} made over a message that is not the challenge")
    if fields["exchange"] != exchange:
        return SignatureCheck("other_message",
                              f"{who} made for exchange {fields['exchange']!r}, not {exchange!r}")
    if fields["round"] != round_id:
        return SignatureCheck("other_round",
                              f"{who} made for round {fields['round']!r}, not {round_id!r}")
    return SignatureCheck("other_address",
                          f"{who} made for address {fields['address']}, not {address.canonical}")
