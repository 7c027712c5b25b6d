"""What a station answers central when an offered model's bytes are not the ones signed: the
reply is read by the person distributing models at central, so it says that nothing changed on
the station and what to send instead."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.modelstore import ModelStore, OfferMode, OfferRejectedError, sign_offer


@pytest.mark.parametrize("sent", [b"good but signeD", b"good!"], ids=["same-size-other-bytes", "other-size"])
def test_a_model_that_is_not_the_signed_one_is_refused_saying_what_to_do(tmp_path: Path, sent: bytes) -> None:
    key = Ed25519PrivateKey.generate()
    store = ModelStore(tmp_path / "models", key.public_key())
    offer = sign_offer(key, "defect", "2026.12.05", b"good but signed", {"version": "2026.12.05"},
                       OfferMode.ACTIVATE)
    with pytest.raises(OfferRejectedError) as refused:
        store.install_offer(offer, sent)
    reason = str(refused.value)
    assert "nothing was installed and defect runs on as before" in reason
    assert "sign the offer again from the model file" in reason
    assert store.active("defect") is None and not (tmp_path / "models" / "defect" / "2026.12.05").exists()
