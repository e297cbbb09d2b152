"""On a CUDA device: every experiment runs with trainer=gpu (bf16 autocast, channels_last where the model
asks for it) and records the card; AlexNet's speed-ups keep their maths under bf16; the nvJPEG path runs.
Skipped where there is no GPU (CI has none); run them with `pytest -m gpu` on a machine that has one."""

import pytest
import torch

from models.nets.alexnet import LocalResponseNorm, PerGPUConv2d
from repro.compose import experiment_names
from repro.pipeline import run
from repro.records import read_records

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


@pytest.mark.parametrize("name", experiment_names())
def test_experiment_runs_on_the_gpu_and_records_the_card(name, smoke_cfg, tmp_path):
    record = run(smoke_cfg(name, "trainer=gpu"))
    assert read_records(tmp_path / "results" / "runs") == [record]
    assert record["hardware"]["accelerator"] == "cuda"
    assert record["hardware"]["gpu"] == torch.cuda.get_device_name(0)


def test_alexnet_decodes_jpegs_on_the_gpu(smoke_cfg, tmp_path):
    record = run(smoke_cfg("alexnet_imagenette", "trainer=gpu", "data.decode_on_device=true"))
    assert record["hardware"]["accelerator"] == "cuda"
    assert len(read_records(tmp_path / "results" / "runs")) == 1


def test_per_gpu_convolution_matches_the_grouped_one_in_bf16():
    torch.manual_seed(0)
    ours = PerGPUConv2d(96, 256, 5, padding=2, groups=2).cuda()
    grouped = torch.nn.Conv2d(96, 256, 5, padding=2, groups=2).cuda()
    grouped.load_state_dict(ours.state_dict())
    x = torch.randn(8, 96, 27, 27, device="cuda").contiguous(memory_format=torch.channels_last)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out, expected = ours(x), grouped(x)
    assert out.dtype == expected.dtype == torch.bfloat16
    assert torch.allclose(out.float(), expected.float(), rtol=2e-2, atol=2e-2)


def test_banded_lrn_matches_torchs_on_the_gpu():
    a = torch.randn(8, 96, 27, 27, device="cuda").contiguous(memory_format=torch.channels_last) * 3
    ours = LocalResponseNorm(96).cuda()(a)
    theirs = torch.nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)(a)
    assert torch.allclose(ours, theirs, rtol=1e-4, atol=1e-5)
