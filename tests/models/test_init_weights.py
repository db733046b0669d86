"""Starting weights (``model.video_init`` / ``model.audio_init``): torchvision's state_dicts give
the same outputs as torchvision's networks; a binge export round-trips; a file for another model
is refused with a report of coverage and shapes."""

from __future__ import annotations

import pytest
import torch
import torchvision

from binge.config import load_config
from binge.models import build_av_model, create_model
from binge.models.init import InitWeightsError, apply_model_init, load_init_weights


def _randomise_bn(model: torch.nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)


def test_torchvision_r2plus1d_18_state_dict_gives_torchvision_outputs(tmp_path):
    torch.manual_seed(0)
    tv = torchvision.models.video.r2plus1d_18()
    _randomise_bn(tv)
    torch.save(tv.state_dict(), tmp_path / "r2plus1d_18.pth")
    cfg = load_config(None, [f"model.video_init={tmp_path / 'r2plus1d_18.pth'}",
                             "model.audio=resnet18_audio_tiny", "model.embed_dim=16"])
    model = build_av_model(cfg.model)
    (report,) = apply_model_init(model, cfg.model)
    assert report.ignored == ["fc.bias", "fc.weight"] and report.loaded == len(model.video_encoder.state_dict())
    tv.eval(), model.eval()
    x = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        ref = tv.layer4(tv.layer3(tv.layer2(tv.layer1(tv.stem(x)))))
        torch.testing.assert_close(model.video_encoder.forward_features(x), ref, rtol=0, atol=0)
        torch.testing.assert_close(tv.fc(model.video_encoder(x)), tv(x), rtol=1e-6, atol=1e-6)


def test_torchvision_resnet18_one_channel_loads_into_the_audio_encoder(tmp_path):
    torch.manual_seed(1)
    tv = torchvision.models.resnet18()
    tv.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    _randomise_bn(tv)
    torch.save({"state_dict": {f"module.{k}": v for k, v in tv.state_dict().items()}}, tmp_path / "a.pt")
    enc = create_model("resnet18_audio")
    load_init_weights(enc, tmp_path / "a.pt", "audio")
    tv.eval(), enc.eval()
    x = torch.randn(2, 1, 64, 100)
    with torch.no_grad():
        torch.testing.assert_close(tv.fc(enc(x)), tv(x), rtol=1e-6, atol=1e-6)


def test_binge_export_and_checkpoint_forms(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(2)
    src = create_model("r2plus1d_18_tiny")
    (tmp_path / "export").mkdir()
    save_file({k: v.contiguous() for k, v in src.state_dict().items()},
              str(tmp_path / "export" / "video_encoder.safetensors"))
    torch.save({"model": {f"video_encoder.{k}": v for k, v in src.state_dict().items()}},
               tmp_path / "last.pt")
    for path in (tmp_path / "export", tmp_path / "last.pt"):
        dst = create_model("r2plus1d_18_tiny")
        load_init_weights(dst, path, "video")
        for k, v in src.state_dict().items():
            assert torch.equal(dst.state_dict()[k], v), (path, k)


def test_a_file_for_another_model_is_refused_with_a_report(tmp_path):
    torch.save(torchvision.models.video.r2plus1d_18().state_dict(), tmp_path / "big.pth")
    tiny = create_model("r2plus1d_18_tiny")
    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    with pytest.raises(InitWeightsError, match=r"model\.video_init: .*big\.pth does not fit the video encoder "
                                               r"\(.* tensors found; .*shape differs"):
        load_init_weights(tiny, tmp_path / "big.pth", "video")
    assert all(torch.equal(before[k], v) for k, v in tiny.state_dict().items())  # nothing half-loaded
    partial = {k: v for k, v in list(before.items())[5:]}
    torch.save(partial, tmp_path / "partial.pt")
    with pytest.raises(InitWeightsError, match=r"missing 5"):
        load_init_weights(tiny, tmp_path / "partial.pt", "video")
    with pytest.raises(InitWeightsError, match=r"does not exist"):
        load_init_weights(tiny, tmp_path / "nope.pt", "video")
