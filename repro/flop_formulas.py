"""FLOP formulas torch.utils.flop_counter lacks: scaled dot-product attention's CPU kernel.

On a GPU, F.scaled_dot_product_attention runs a flash or memory-efficient kernel that the counter
knows; on a CPU it runs aten._scaled_dot_product_flash_attention_for_cpu, which it does not, so
attention's two matmuls (about a tenth of a small ViT's FLOPs) went uncounted there. Same formulas
as the GPU kernels'. Importing this module registers them (once; a torch that has them keeps its own).
"""

from __future__ import annotations

import torch
from torch.utils.flop_counter import flop_registry, register_flop_formula, sdpa_backward_flop_count, sdpa_flop_count

_aten = torch.ops.aten


def _cpu_attention(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def _cpu_attention_backward(grad_out_shape, query_shape, key_shape, value_shape, *args, out_shape=None,
                            **kwargs) -> int:
    return sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)


for _name, _formula in (("_scaled_dot_product_flash_attention_for_cpu", _cpu_attention),
                        ("_scaled_dot_product_flash_attention_for_cpu_backward", _cpu_attention_backward)):
    _op = getattr(_aten, _name, None)
    if _op is not None and _op not in flop_registry:
        register_flop_formula(_op)(_formula)
