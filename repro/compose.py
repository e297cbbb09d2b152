"""Composing experiment configs outside a Hydra app (smoke runs, tests, benchmarks), so they run
exactly the configs a user runs, shrunk by overrides."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


# What debug=smoke alone cannot shrink, per experiment (tiny data has fewer than 5,000 per class).
SMOKE_OVERRIDES = {"lenet5_learning_curve": ["data.per_class=10"],
                   "vit_data_scaling": ["data.per_class=10"], "cnn_data_scaling": ["data.per_class=10"],
                   "vit_cifar10_lite": ["data.batch_size=32"],  # 6.3M parameters: 2 GFLOP a training image
                   # ViT-B/16 on the Imagenette fixture (no ImageNet here), the ImageFolder smoke settings, and
                   # 2 of its 12 layers: the full net costs 100 GFLOP a training image (tests/test_vit.py counts it)
                   "vit_b16_imagenet": ["data.batch_size=4", "data.eval_batch_size=2", "data.num_workers=0",
                                        "data.resize_cache=false", "data.data_dir=${paths.data_dir}/imagenette",
                                        "model.net.depth=2"]}
# Translation (the Transformer): small batches, outputs of at most 2 tokens past the source length. The
# WMT14 configs read the Multi30k fixture as files (tests never download) with 1 of their 6 layers and a
# small vocabulary; tests/test_transformer.py counts the full sizes' parameters.
SMOKE_TRANSLATION = ["data.max_tokens=256", "data.eval_max_tokens=256", "model.max_len_b=2"]
SMOKE_WMT14 = ["data.source=files", "data.data_dir=${paths.data_dir}/multi30k",
               "data.files={train:train,val:val,test:test_2016_flickr}", "data.vocab_size=1000", "model.net.layers=1"]
SMOKE_OVERRIDES.update({name: SMOKE_TRANSLATION for name in (
    "transformer", "transformer_table3", "transformer_table3_one_head", "transformer_table3_no_label_smoothing",
    "transformer_table3_learned_positions", "transformer_table3_no_dropout")})
SMOKE_OVERRIDES.update({name: [*SMOKE_TRANSLATION, *SMOKE_WMT14]
                        for name in ("transformer_base_wmt14", "transformer_big_wmt14")})
# ImageFolder experiments (AlexNet): tiny batches, no workers, no resize cache.
SMOKE_IMAGES = ["data.batch_size=4", "data.eval_batch_size=2", "data.num_workers=0", "data.resize_cache=false"]


def smoke_overrides(name: str) -> list[str]:
    on_cifar = "cifar" in name or "fig1" in name  # Fig. 1's pairs train on CIFAR-10 tensors, not JPEG folders
    images = SMOKE_IMAGES if name.startswith("alexnet") and not on_cifar else []
    if name in ("alexnet", "alexnet_torchvision"):  # no ImageNet here: the same pipeline on Imagenette
        images = [*images, "data.data_dir=${paths.data_dir}/imagenette"]
    return ["debug=smoke", *SMOKE_OVERRIDES.get(name, []), *images]


def experiment_names() -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))


def compose_experiment(name: str, output_dir: str | Path, overrides: list[str] = ()) -> DictConfig:
    """The resolved-ready config of `experiment=name`; `paths.output_dir` replaces Hydra's run dir."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("train", overrides=[f"experiment={name}", f"paths.output_dir={output_dir}", *overrides])
