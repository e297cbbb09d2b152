"""The Vision Transformer milestone (Dosovitskiy et al. 2020): the net's shapes and parameter counts,
the same function as torchvision's ViT, the warmup-cosine schedule, balanced CIFAR-10 subsets, soft
targets from MixUp/CutMix, the claims' gating and the report's ViT rows."""

from __future__ import annotations

import math

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from datamodules.batch_augment import in_groups, mix_transform, policy_transform
from datamodules.cifar10 import CIFAR10DataModule
from models.classifier import Classifier
from models.lr_schedules import warmup_decay, warmup_decay_factor
from models.nets.resnet_cifar import CifarResNet
from models.nets.vit import PatchEmbedding, VisionTransformer
from repro.claims import Claim, load_claims
from repro.compose import compose_experiment
from repro.errors import UserError
from repro.experiments import Experiment
from repro.report.build import build_report
from repro.report.sections.dosovitskiy2020 import gap_at_smallest_size, gap_shrink
from tests.conftest import FIXTURES, REPO

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def net_of(experiment: str, *overrides: str) -> torch.nn.Module:
    """The net an experiment config builds, on the meta device (no memory, no init cost: H/14 is 632M)."""
    cfg = compose_experiment(experiment, "unused", list(overrides))
    with torch.device("meta"):
        return instantiate(cfg.model.net)


# ---- the net ----------------------------------------------------------------------------------

def test_patch_embedding_shapes_and_row_major_order():
    embed = PatchEmbedding(image_size=32, patch_size=4, channels=3, dim=16)
    assert embed(torch.zeros(2, 3, 32, 32)).shape == (2, 64, 16)
    assert PatchEmbedding(224, 16, 3, 8).num_patches == 196 and PatchEmbedding(224, 14, 3, 8).num_patches == 256
    # a change inside patch (row 1, column 2) moves token 1 * 8 + 2 only
    x = torch.zeros(1, 3, 32, 32)
    y = x.clone()
    y[0, :, 4:8, 8:12] = 1.0
    changed = (embed(y) - embed(x)).abs().sum(-1)[0].nonzero().flatten().tolist()
    assert changed == [10]
    with pytest.raises(ValueError, match="multiple of patch_size"):
        PatchEmbedding(30, 4, 3, 16)


def test_class_token_and_position_embeddings():
    net = VisionTransformer(image_size=32, patch_size=4, num_classes=10, dim=32, depth=2, heads=4, mlp_dim=64)
    assert net.class_token.shape == (1, 1, 32) and net.position_embedding.shape == (1, 65, 32)
    tokens = net.tokens(torch.randn(3, 3, 32, 32))
    assert tokens.shape == (3, 65, 32)
    # token 0 is the class token plus its position embedding, whatever the image
    assert torch.allclose(tokens[:, 0], (net.class_token + net.position_embedding[:, 0]).expand(3, 1, 32)[:, 0])
    # the authors' init: class token and head zero, position embeddings N(0, 0.02)
    assert not net.class_token.any() and not net.head.weight.any() and not net.head.bias.any()
    assert 0.01 < float(net.position_embedding.std()) < 0.03
    assert net(torch.randn(3, 3, 32, 32)).shape == (3, 10)


def test_same_function_as_torchvisions_vit():
    """Our blocks compute what torchvision's VisionTransformer computes, given the same weights."""
    from torchvision.models.vision_transformer import VisionTransformer as TorchvisionViT

    torch.manual_seed(0)
    theirs = TorchvisionViT(image_size=32, patch_size=4, num_layers=2, num_heads=4, hidden_dim=32, mlp_dim=64,
                            num_classes=10).eval()
    for p in theirs.parameters():  # their head starts at zero: make every weight informative
        torch.nn.init.normal_(p, std=0.1)
    ours = VisionTransformer(32, 4, 10, dim=32, depth=2, heads=4, mlp_dim=64).eval()
    mapping = {"patch_embedding.proj": "conv_proj", "class_token": "class_token",
               "position_embedding": "encoder.pos_embedding", "norm": "encoder.ln", "head": "heads.head"}
    for i in range(2):
        prefix, layer = f"blocks.{i}.", f"encoder.layers.encoder_layer_{i}."
        mapping |= {prefix + "norm1": layer + "ln_1", prefix + "norm2": layer + "ln_2",
                    prefix + "attention.qkv.weight": layer + "self_attention.in_proj_weight",
                    prefix + "attention.qkv.bias": layer + "self_attention.in_proj_bias",
                    prefix + "attention.proj": layer + "self_attention.out_proj",
                    prefix + "mlp.fc1": layer + "mlp.0", prefix + "mlp.fc2": layer + "mlp.3"}
    source = theirs.state_dict()
    state = {}
    for name in ours.state_dict():
        key = next(k for k in sorted(mapping, key=len, reverse=True) if name.startswith(k))
        state[name] = source[mapping[key] + name[len(key):]]
    ours.load_state_dict(state)
    x = torch.randn(4, 3, 32, 32)
    assert torch.allclose(ours(x), theirs(x), atol=1e-5)


@pytest.mark.parametrize("model, params", [("vit_b16", 86_567_656), ("vit_l16", 304_326_632),
                                           ("vit_h14", 632_045_800)])
def test_paper_sizes_have_the_known_parameter_counts(model, params):
    """Table 1's ViT-B/16, L/16, H/14 with a 1000-way head at 224x224, as timm and torchvision count them."""
    assert count(net_of("vit_b16_imagenet", f"model={model}")) == params


def test_cifar_sizes():
    assert count(net_of("vit")) == 275_914            # D 64, 8 layers, MLP 128, patch 4
    assert count(net_of("vit_data_scaling")) == 275_914
    assert count(net_of("cnn_data_scaling")) == 269_722  # ResNet-20: "0.27M" (He et al. 2016, Table 6)
    assert round(count(net_of("vit_cifar10_lite")) / 1e6, 1) == 6.3  # omihub777's 6.3M
    assert CifarResNet(n=3)(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_flops_per_image_count_attention_on_cpu():
    """Records' FLOPs include attention's two matmuls, on a CPU too (repro/flop_formulas.py)."""
    from repro.meter import count_flops

    net = VisionTransformer(32, 4, 10, dim=64, depth=2, heads=4, mlp_dim=128)
    forward, train = count_flops(net, torch.randn(2, 3, 32, 32))
    tokens, d, mlp, layers = 65, 64, 128, 2
    dense = 2 * tokens * (4 * d * d + 2 * d * mlp) * layers + 2 * 64 * 48 * d + 2 * d * 10  # blocks, patches, head
    attention = 2 * 2 * tokens * tokens * d * layers  # q k^T and (softmax) v
    assert forward / 2 == pytest.approx(dense + attention, rel=0.01)
    assert 2.9 < train / forward < 3.1


# ---- the schedule -----------------------------------------------------------------------------

def test_warmup_cosine_values_at_known_steps():
    f = lambda step, **kw: warmup_decay_factor(step, total_steps=110, warmup_steps=10, **kw)  # noqa: E731
    assert f(0) == pytest.approx(0.1) and f(4) == pytest.approx(0.5) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0)                   # decay starts at 1
    assert f(60) == pytest.approx(0.5)                   # half way through the cosine
    assert f(35) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert f(110) == pytest.approx(0.0) and f(500) == pytest.approx(0.0)
    assert f(60, decay="linear") == pytest.approx(0.5)
    assert f(110, final_factor=0.01) == pytest.approx(0.01)


def test_schedule_drives_the_optimiser_and_fits_any_run_length():
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([weight], lr=3e-3)
    schedule = warmup_decay(optimizer, total_steps=100, warmup_fraction=0.1)
    seen = []
    for _ in range(100):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert seen[0] == pytest.approx(3e-4) and max(seen) == pytest.approx(3e-3) and seen.index(max(seen)) == 9
    assert seen[-1] < 1e-5
    # 10k warmup steps in a 2-step smoke run: the warmup shrinks to the run, no division by zero
    tiny = warmup_decay(torch.optim.AdamW([weight], lr=1.0), total_steps=2, warmup_steps=10_000)
    assert 0 < tiny.get_last_lr()[0] <= 1.0
    with pytest.raises(ValueError, match="decay"):
        warmup_decay(optimizer, total_steps=10, decay="step")


# ---- data -------------------------------------------------------------------------------------

def _cifar(tmp_path, **kwargs) -> CIFAR10DataModule:
    dm = CIFAR10DataModule(data_dir=str(FIXTURES), cache_dir=str(tmp_path), **kwargs)
    dm.setup()
    return dm


def test_cifar_subsets_keep_classes_balanced(tmp_path):
    labels = _cifar(tmp_path, per_class=7).splits["train"][1]
    assert torch.equal(torch.bincount(labels, minlength=10), torch.full((10,), 7))
    labels = _cifar(tmp_path, subset=50).splits["train"][1]
    assert torch.equal(torch.bincount(labels, minlength=10), torch.full((10,), 5))
    # held-out validation first, then the balanced subset of what is left
    dm = _cifar(tmp_path, per_class=5, val_size=40)
    assert len(dm.splits["val"][0]) == 40 and torch.equal(torch.bincount(dm.splits["train"][1]), torch.full((10,), 5))
    with pytest.raises(UserError, match="per_class=21"):
        _cifar(tmp_path, per_class=21)  # the fixture has 20 of each class


def test_policy_augmentation_in_groups_keeps_uint8_batches():
    images = torch.randint(0, 256, (20, 3, 32, 32), dtype=torch.uint8)
    for policy in ("autoaugment", "randaugment"):
        out = in_groups(policy_transform(policy), images, group=8)
        assert out.shape == images.shape and out.dtype == torch.uint8
    assert policy_transform(None) is None
    with pytest.raises(UserError, match="data.policy"):
        policy_transform("trivial")


def test_mixup_cutmix_soft_targets_train_the_classifier():
    torch.manual_seed(0)
    mix = mix_transform(mixup_alpha=0.8, cutmix_alpha=1.0, num_classes=10)
    x, y = mix(torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,)))
    assert y.shape == (16, 10) and torch.allclose(y.sum(1), torch.ones(16))
    assert mix_transform(0.0, 0.0, 10) is None
    with pytest.raises(UserError, match="mixup_alpha"):
        mix_transform(-1.0, 0.0, 10)
    net = VisionTransformer(32, 4, 10, dim=16, depth=1, heads=2, mlp_dim=32)
    system = Classifier(net, optimizer=torch.optim.SGD, label_smoothing=0.1)
    loss = system.training_step((x, y), 0)
    expected = torch.nn.functional.cross_entropy(net(x), y, label_smoothing=0.1)
    assert torch.allclose(loss, expected) and float(system.train_sums[2]) == 16
    loss.backward()  # and hard labels still work as before
    assert system.loss(net(x), y.argmax(1)).shape == ()


def test_mixing_happens_only_in_training(tmp_path):
    dm = _cifar(tmp_path, mixup_alpha=0.5)
    images, labels = dm.splits["train"][0][:8], dm.splits["train"][1][:8]

    class Trainer:
        training = True

    dm.trainer = Trainer()
    assert dm.on_after_batch_transfer((images, labels), 0)[1].shape == (8, 10)
    Trainer.training = False
    assert dm.on_after_batch_transfer((images, labels), 0)[1].shape == (8,)


# ---- claims -----------------------------------------------------------------------------------

def _config(experiment: str, *overrides: str) -> dict:
    return OmegaConf.to_container(compose_experiment(experiment, "unused", list(overrides)), resolve=False)


def test_claims_answer_only_the_runs_they_describe():
    claims = load_claims(REPO / "results" / "claims.yaml")
    b16 = claims["dosovitskiy2020.vit_b16_imagenet1k"]
    assert b16.applies_to(_config("vit_b16_imagenet"))
    assert not b16.applies_to(_config("vit_b16_imagenet", "model=vit_l16"))  # L/16 is not B/16
    anchor = claims["kentaroy47.vit_cifar10_200ep"]
    assert not anchor.applies_to(_config("vit"))                               # the CPU-sized default
    assert anchor.applies_to(_config("vit", "trainer.max_epochs=200"))
    for claim_id in ("dosovitskiy2020.small_data_cnn_wins", "dosovitskiy2020.gap_shrinks_with_data"):
        assert claims[claim_id].metric == "derived" and claims[claim_id].command == "make vit-scaling"


# ---- the report -------------------------------------------------------------------------------

VIT, CNN = "vit_scaling", "cnn_scaling"
SCALING_CLAIMS = {claim_id: Claim(id=claim_id, paper="Dosovitskiy 2020", source="Fig. 3-4", what=claim_id,
                                  metric="derived", value=value, unit="points", better="higher", one_sided=True,
                                  group="vit")
                  for claim_id, value in (("dosovitskiy2020.small_data_cnn_wins", 0.0),
                                          ("dosovitskiy2020.gap_shrinks_with_data", 2.0))}
SIZES = (500, 1000, 2500, 5000)


def _recipe(per_class: int | None) -> dict:
    return {"data": {"per_class": per_class}, "trainer": {"max_epochs": -1}}


def _experiment(name: str, derived=(), recipes=None) -> Experiment:
    return Experiment(name, (), (), "", {"section": "dosovitskiy2020", "derived": list(derived)}, (),
                      tuple(recipes or [_recipe(n) for n in SIZES]))


EXPERIMENTS = {VIT: _experiment(VIT, [{"claim": "dosovitskiy2020.small_data_cnn_wins", "method": "gap_at_smallest_size", "with": CNN},
                                      {"claim": "dosovitskiy2020.gap_shrinks_with_data", "method": "gap_shrink", "with": CNN}]),
               CNN: _experiment(CNN), "vit": _experiment("vit", recipes=[_recipe(None)])}


def fake(experiment: str, error: float, per_class: int | None = None, seed: int = 0) -> dict:
    return {"experiment": experiment, "seed": seed, "params": 275_914, "metrics": {"test/error_pct": error, "epochs": 10.0},
            "claims": [], "wall_time_s": 100.0, "samples_per_s": 600.0, "flops_per_sample_train": 3e8,
            "hardware": {"summary": "Test CPU (2 cores)"}, "precision": "32-true", "git_commit": "0123456789",
            "command": f"python scripts/train.py experiment={experiment}", "finished_at": f"2025-01-01T00:00:0{seed}+00:00",
            "config": _recipe(per_class)}


def scaling_records(vit_errors: list[float], cnn_errors: list[float]) -> list[dict]:
    return [fake(VIT, e, n) for n, e in zip(SIZES, vit_errors)] + [fake(CNN, e, n) for n, e in zip(SIZES, cnn_errors)]


def test_the_gap_methods_pair_the_two_nets_by_size():
    records = scaling_records([60.0, 52.0, 45.0, 40.0], [45.0, 40.0, 36.0, 34.0])
    vit, cnn = records[:4], records[4:]
    assert gap_at_smallest_size(vit, cnn)[1] == [15.0]
    assert gap_shrink(vit, cnn)[1] == [9.0]  # 15 at 500 per class, 6 at 5,000
    assert gap_shrink(vit[:1], cnn[:1]) == ([], [])


def test_report_has_the_vit_rows_the_plot_and_the_verdict(tmp_path):
    records = scaling_records([60.0, 52.0, 45.0, 40.0], [45.0, 40.0, 36.0, 34.0]) + [
        fake(VIT, 58.0, 500, seed=1), fake("vit", 25.5)]  # two seeds at 500 per class: mean 59
    report = build_report(SCALING_CLAIMS, records, tmp_path, experiments=EXPERIMENTS).read_text()
    assert (tmp_path / "vit_data_scaling.png").read_bytes().startswith(PNG_MAGIC)
    wins = next(line for line in report.splitlines() if line.startswith("| `dosovitskiy2020.small_data_cnn_wins`"))
    assert f"| {VIT} vs {CNN} |" in wins and "| 14 (n=1) |" in wins and "| reproduced |" in wins
    shrink = next(line for line in report.splitlines() if line.startswith("| `dosovitskiy2020.gap_shrinks_with_data`"))
    assert "| 8 (n=1) |" in shrink and "| reproduced |" in shrink      # 14 - 6 points
    assert "| 500 | 41 ± 1.41 (n=2) | 55 (n=1) | +14.00 |" in report
    assert "| vit | 0 | 275,914 | 10 | 74.5 (n=1) |" in report
    stand_ins = report.split("## Stand-ins")[1].split("##")[0]
    assert VIT not in stand_ins and CNN not in stand_ins


def test_report_says_when_the_direction_did_not_hold(tmp_path):
    records = scaling_records([50.0, 45.0, 40.0, 38.0], [45.0, 40.0, 33.0, 30.0])  # gap 5 -> 8: grew
    report = build_report(SCALING_CLAIMS, records, tmp_path, experiments=EXPERIMENTS).read_text()
    shrink = next(line for line in report.splitlines() if line.startswith("| `dosovitskiy2020.gap_shrinks_with_data`"))
    assert "| not reproduced |" in shrink


def test_report_without_vit_records_says_how_to_make_them(tmp_path):
    report = build_report(SCALING_CLAIMS, [], tmp_path, experiments=EXPERIMENTS).read_text()
    assert "`make vit-scaling`" in report and "`make reproduce-vit`" in report
    assert not (tmp_path / "vit_data_scaling.png").exists()
