"""The Vision Transformer of Dosovitskiy et al. 2020, "An Image is Worth 16x16 Words" (ICLR 2021).

Section 3.1 and eq. 1-4: the image is cut into P x P patches, each flattened and linearly projected to
D dimensions (a convolution with kernel = stride = P computes exactly that); a learnable class token
is prepended; learnable 1-D position embeddings are added; L pre-layer-norm encoder blocks follow,
x + MSA(LN(x)) then x + MLP(LN(x)), the MLP two layers with a GELU; the class token's final state,
layer-normed, goes to the classification head.

Appendix B.1: dropout after every dense layer except the qkv projections, and directly after adding
the position embeddings. Initialisation follows the authors' code (google-research/vision_transformer,
models_vit.py), as torchvision and timm do: LeCun-normal patch projection, position embeddings
N(0, 0.02), class token zeros, Xavier-uniform attention and MLP weights, MLP biases N(0, 1e-6),
a zero-initialised head; LayerNorm eps 1e-6.

The classification head: "a MLP with one hidden layer at pre-training time and by a single linear
layer at fine-tuning time" (section 3.1). `representation_size` adds that hidden (tanh) layer; the
parameter counts the literature quotes (ViT-B/16 86.6M ...) are without it, the default here.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# Table 1 of the paper: hidden size D, layers, MLP size, heads.
SIZES = {
    "base": {"dim": 768, "depth": 12, "mlp_dim": 3072, "heads": 12},
    "large": {"dim": 1024, "depth": 24, "mlp_dim": 4096, "heads": 16},
    "huge": {"dim": 1280, "depth": 32, "mlp_dim": 5120, "heads": 16},
}


def lecun_normal_(weight: torch.Tensor) -> None:
    """Truncated normal with std sqrt(1 / fan_in) (flax's lecun_normal, as the authors' code uses)."""
    fan_in = weight[0].numel()
    nn.init.trunc_normal_(weight, std=math.sqrt(1 / fan_in))


class PatchEmbedding(nn.Module):
    """Eq. 1's x_p E: (N, C, H, W) -> (N, H/P * W/P, D), patches in row-major order."""

    def __init__(self, image_size: int, patch_size: int, channels: int, dim: int) -> None:
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"image_size {image_size} is not a multiple of patch_size {patch_size}")
        self.grid = image_size // patch_size
        self.num_patches = self.grid ** 2
        self.proj = nn.Conv2d(channels, dim, kernel_size=patch_size, stride=patch_size)
        lecun_normal_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class SelfAttention(nn.Module):
    """Multi-head self-attention (Appendix A) through F.scaled_dot_product_attention."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0, attention_dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not a multiple of heads {heads}")
        self.heads, self.attention_dropout = heads, attention_dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)  # after the output projection, not on q, k, v (Appendix B.1)
        for block in self.qkv.weight.chunk(3):  # Xavier over each D x D matrix, as three separate dense layers
            nn.init.xavier_uniform_(block)
        nn.init.xavier_uniform_(self.proj.weight)
        nn.init.zeros_(self.qkv.bias)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, dim = x.shape
        q, k, v = self.qkv(x).view(n, length, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attention_dropout if self.training else 0.0)
        return self.dropout(self.proj(out.transpose(1, 2).reshape(n, length, dim)))


class MLP(nn.Module):
    """Two dense layers with a GELU between them, dropout after each (Appendix B.1)."""

    def __init__(self, dim: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(dropout)
        for layer in (self.fc1, self.fc2):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.normal_(layer.bias, std=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.fc2(self.dropout(F.gelu(self.fc1(x)))))


class EncoderBlock(nn.Module):
    """Eq. 2-3: z' = MSA(LN(z)) + z; z = MLP(LN(z')) + z' (pre-layer-norm)."""

    def __init__(self, dim: int, heads: int, mlp_dim: int, dropout: float = 0.0,
                 attention_dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attention = SelfAttention(dim, heads, dropout, attention_dropout)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MLP(dim, mlp_dim, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """ViT: `dim` is the paper's hidden size D, `depth` its layers L, `mlp_dim` its MLP size."""

    def __init__(self, image_size: int = 224, patch_size: int = 16, num_classes: int = 1000, dim: int = 768,
                 depth: int = 12, heads: int = 12, mlp_dim: int = 3072, dropout: float = 0.0,
                 attention_dropout: float = 0.0, channels: int = 3, representation_size: int | None = None) -> None:
        super().__init__()
        self.patch_embedding = PatchEmbedding(image_size, patch_size, channels, dim)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.position_embedding = nn.Parameter(torch.empty(1, self.patch_embedding.num_patches + 1, dim))
        nn.init.normal_(self.position_embedding, std=0.02)
        self.dropout = nn.Dropout(dropout)  # "directly after adding positional- to patch embeddings"
        self.blocks = nn.Sequential(*[EncoderBlock(dim, heads, mlp_dim, dropout, attention_dropout)
                                      for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)  # eq. 4: y = LN(z_L^0)
        self.pre_logits = nn.Identity()
        if representation_size:  # the pre-training head's hidden layer (section 3.1), tanh as in the authors' code
            dense = nn.Linear(dim, representation_size)
            lecun_normal_(dense.weight)
            nn.init.zeros_(dense.bias)
            self.pre_logits = nn.Sequential(dense, nn.Tanh())
        self.head = nn.Linear(representation_size or dim, num_classes)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Eq. 1: z_0 = [x_class; x_p^1 E; ...; x_p^N E] + E_pos, shape (N, 1 + patches, D)."""
        patches = self.patch_embedding(x)
        cls = self.class_token.expand(len(patches), -1, -1)
        return torch.cat([cls, patches], dim=1) + self.position_embedding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.blocks(self.dropout(self.tokens(x)))
        return self.head(self.pre_logits(self.norm(z[:, 0])))
