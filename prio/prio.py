"""python-libprio's object API (`prio.prio`) over `prio.libprio`: each object keeps its handle
in `.instance`; verify packets and total shares pickle as their wire bytes and are read back
lazily, with the config of whoever uses them."""

from __future__ import annotations

from array import array

from . import libprio

PRIO_SERVER_A = libprio.PRIO_SERVER_A
PRIO_SERVER_B = libprio.PRIO_SERVER_B


class PRGSeed:
    """A fresh random shared secret of the two servers."""

    def __init__(self):
        self.instance = libprio.PrioPRGSeed_randomize()


class Config:
    """n_fields booleans per client, both servers' public keys, the batch id (bytes)."""

    def __init__(self, n_fields, server_a, server_b, batch_id, *, prg_mode=None):
        self.instance = libprio.PrioConfig_new(n_fields, server_a.instance, server_b.instance,
                                               batch_id, prg_mode=prg_mode)

    def num_data_fields(self) -> int:
        return libprio.PrioConfig_numDataFields(self.instance)


class TestConfig(Config):
    __test__ = False  # not a pytest class

    def __init__(self, n_fields, *, prg_mode=None):
        self.instance = libprio.PrioConfig_newTest(n_fields, prg_mode=prg_mode)


class _Key:
    def __init__(self, instance=None):
        self.instance = instance

    def _export(self, exporter):
        return None if self.instance is None else exporter(self.instance)


class PublicKey(_Key):
    def import_bin(self, data) -> PublicKey:
        self.instance = libprio.PublicKey_import(data)
        return self

    def import_hex(self, data) -> PublicKey:
        self.instance = libprio.PublicKey_import_hex(data)
        return self

    def export_bin(self):
        return self._export(libprio.PublicKey_export)

    def export_hex(self):
        """Uppercase hex; NUL-terminated under libprio 1.6 compatibility (the default)."""
        return self._export(libprio.PublicKey_export_hex)


class PrivateKey(_Key):
    def import_bin(self, private_data, public_data) -> PrivateKey:
        self.instance = libprio.PrivateKey_import(private_data, public_data)
        return self

    def import_hex(self, private_hex, public_hex) -> PrivateKey:
        self.instance = libprio.PrivateKey_import_hex(private_hex, public_hex)
        return self

    def export_bin(self):
        return self._export(libprio.PrivateKey_export)

    def export_hex(self):
        return self._export(libprio.PrivateKey_export_hex)


def create_keypair() -> tuple[PrivateKey, PublicKey]:
    private, public = libprio.Keypair_new()
    return PrivateKey(private), PublicKey(public)


class Client:
    def __init__(self, config: Config):
        self.config = config

    def encode(self, data) -> tuple[bytes, bytes]:
        return libprio.PrioClient_encode(self.config.instance, data)


class Server:
    def __init__(self, config: Config, server_id, private_key: PrivateKey, secret: PRGSeed):
        self.config = config
        self.server_id = server_id
        self.instance = libprio.PrioServer_new(config.instance, server_id, private_key.instance,
                                               secret.instance)

    def create_verifier(self, data) -> Verifier:
        return Verifier(self, data)

    def aggregate(self, verifier: Verifier) -> None:
        libprio.PrioServer_aggregate(self.instance, verifier.instance)

    def total_shares(self) -> TotalShare:
        return TotalShare(self)


class Verifier:
    """One client packet loaded by one server. Not picklable: it belongs to its server."""

    def __init__(self, server: Server, data):
        self.server = server
        self.instance = libprio.PrioVerifier_new(server.instance)
        libprio.PrioVerifier_set_data(self.instance, data)

    def create_verify1(self) -> PacketVerify1:
        return PacketVerify1(self)

    def create_verify2(self, verify1_a: PacketVerify1, verify1_b: PacketVerify1) -> PacketVerify2:
        for packet in (verify1_a, verify1_b):
            packet.deserialize(self.server.config)
        return PacketVerify2(self, verify1_a, verify1_b)

    def is_valid(self, verify2_a: PacketVerify2, verify2_b: PacketVerify2) -> bool:
        for packet in (verify2_a, verify2_b):
            packet.deserialize(self.server.config)
        try:
            libprio.PrioVerifier_isValid(self.instance, verify2_a.instance, verify2_b.instance)
        except RuntimeError:
            return False
        return True


class _Serialized:
    """A packet that pickles as its wire bytes; unpickled, it is read at first use."""

    _new = _read = _write = None  # the libprio functions of the packet type

    def _start(self):
        self.instance = type(self)._new()
        self._pending = None

    def deserialize(self, config: Config) -> None:
        if self._pending is not None:
            type(self)._read(self.instance, self._pending, config.instance)
        self._pending = None

    def __getstate__(self):
        if self._pending is not None:
            return self._pending
        return type(self)._write(self.instance)

    def __setstate__(self, state):
        self.instance = type(self)._new()
        self._pending = bytes(state)


class PacketVerify1(_Serialized):
    _new = staticmethod(libprio.PrioPacketVerify1_new)
    _read = staticmethod(libprio.PrioPacketVerify1_read)
    _write = staticmethod(libprio.PrioPacketVerify1_write)

    def __init__(self, verifier: Verifier):
        self._start()
        libprio.PrioPacketVerify1_set_data(self.instance, verifier.instance)


class PacketVerify2(_Serialized):
    _new = staticmethod(libprio.PrioPacketVerify2_new)
    _read = staticmethod(libprio.PrioPacketVerify2_read)
    _write = staticmethod(libprio.PrioPacketVerify2_write)

    def __init__(self, verifier: Verifier, verify1_a: PacketVerify1, verify1_b: PacketVerify1):
        self._start()
        libprio.PrioPacketVerify2_set_data(self.instance, verifier.instance, verify1_a.instance,
                                           verify1_b.instance)


class TotalShare(_Serialized):
    _new = staticmethod(libprio.PrioTotalShare_new)
    _read = staticmethod(libprio.PrioTotalShare_read)
    _write = staticmethod(libprio.PrioTotalShare_write)

    def __init__(self, server: Server):
        self._start()
        libprio.PrioTotalShare_set_data(self.instance, server.instance)


def total_share_final(config: Config, total_a: TotalShare, total_b: TotalShare) -> array:
    for share in (total_a, total_b):
        share.deserialize(config)
    return array("Q", libprio.PrioTotalShare_final(config.instance, total_a.instance,
                                                   total_b.instance))
