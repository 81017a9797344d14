"""The transfer-syntax table: availability, reasons and the "cannot decode" message."""

from __future__ import annotations

import pytest

from dcmview_core import decoders
from dcmview_core.errors import UnsupportedTransferSyntax

ISSUE_SYNTAXES = [
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.81",
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.91",
    "1.2.840.10008.1.2.4.201",
    "1.2.840.10008.1.2.4.202",
    "1.2.840.10008.1.2.4.203",
    "1.2.840.10008.1.2.5",
]


@pytest.mark.parametrize("uid", ISSUE_SYNTAXES)
def test_every_issue_syntax_is_decodable(uid: str) -> None:
    assert decoders.can_decode(uid)
    assert decoders.support_reason(uid) is None
    assert decoders.decoder_for(uid).is_available()


def test_unknown_syntax_is_not_supported_and_the_error_names_it() -> None:
    mpeg = "1.2.840.10008.1.2.4.100"
    assert not decoders.can_decode(mpeg)
    assert decoders.support_reason(mpeg) == "transfer_syntax.not_supported"
    with pytest.raises(UnsupportedTransferSyntax, match=r"MPEG2 .*1\.2\.840\.10008\.1\.2\.4\.100"):
        decoders.decoder_for(mpeg)


def test_missing_package_names_syntax_and_package(monkeypatch: pytest.MonkeyPatch) -> None:
    uid = "1.2.840.10008.1.2.4.90"
    missing = decoders.Decoder(
        "nothing.j2k", "not-installed-codec", "dcmview_no_such_module", decoders._decode_j2k
    )
    monkeypatch.setitem(decoders.DECODERS, uid, (missing,))
    assert not decoders.can_decode(uid)
    assert decoders.support_reason(uid) == "transfer_syntax.decoder_missing"
    with pytest.raises(UnsupportedTransferSyntax) as info:
        decoders.decoder_for(uid)
    assert "JPEG 2000 Lossless" in str(info.value)
    assert "not-installed-codec" in str(info.value)


def test_missing_codec_in_an_installed_module_is_unavailable() -> None:
    assert not decoders.Decoder(
        "x", "imagecodecs", "imagecodecs:NO_SUCH_CODEC", decoders._decode_j2k
    ).is_available()


def test_a_jpeg2000_decode_alone_uses_every_core_and_concurrent_ones_one_each() -> None:
    gate = decoders._Concurrency(4)
    with gate.threads() as alone:
        assert alone == 4
        with gate.threads() as second, gate.threads() as third:
            assert (second, third) == (1, 1)
            assert gate.running == 3
    assert gate.running == 0
    with gate.threads() as again:
        assert again == 4
    with pytest.raises(RuntimeError), gate.threads():
        raise RuntimeError("a failed decode releases its slot")
    assert gate.running == 0
    assert decoders._Concurrency(0).cores == 1
