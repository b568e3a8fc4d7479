"""Configuration of the trunk and of feature processing: typed dataclasses with AlphaFold2's values.

The building blocks every module reads (:class:`GlobalConfig`), the trunk's layers (attention,
transitions, outer product mean, triangle updates, Evoformer block, templates, extra-MSA stack:
:class:`EmbeddingsAndEvoformerConfig`) and feature processing (:class:`FeatureConfig`). Defaults are
AlphaFold2's monomer values (Jumper et al. 2021, supplement section 1.11); the structure module and the
heads define their configurations beside their modules, and :mod:`snakefold.model.presets` composes
everything into the ten published presets.

Every dataclass is frozen: a configuration is a value, hashable, usable as a static argument of ``jit``.
Attention ``key_dim``/``value_dim`` are totals over all heads, as in AlphaFold2 (``None`` = the input width).
"""

from __future__ import annotations

from dataclasses import dataclass

#: A chunk size chosen from the shapes at hand (:func:`snakefold.model.primitives.chunk_size_for`).
AUTO = "auto"

ChunkSize = int | None | str


@dataclass(frozen=True)
class GlobalConfig:
    """Settings every module reads.

    Chunking: a layer processes its batch rows a chunk at a time, so that its large intermediates (the
    [rows, heads, N, N] attention logits, the 4x-wide transition activations, the [rows, N, c, c] outer
    products, the triangle products) never exist for the whole tensor at once. The numbers do not depend
    on the chunk sizes (up to float rounding).

    ``subbatch_size``: rows per chunk of attention and transition layers (MSA sequences, pair rows);
    ``None`` processes everything in one go; ``"auto"`` (:data:`AUTO`) chooses per layer and shape: the
    most rows whose largest intermediate fits ``chunk_budget_mb``, everything at once when it all fits,
    and chunks of queries within a row when one row does not.
    ``triangle_chunk_size``: channels per chunk of the triangle multiplications (same choices).
    ``chunk_budget_mb``: the budget of the ``"auto"`` choices; ``None`` takes the backend's default
    (:data:`snakefold.model.primitives.DEFAULT_CHUNK_BUDGET_MB`): cache-sized on CPU, where small pieces run
    fastest, large on GPU and TPU, where it only bounds memory.
    ``attention_implementation``: ``"xla"`` (einsums and a softmax that XLA fuses, on every backend) or
    ``"cudnn"`` (``jax.nn.dot_product_attention``'s cuDNN flash-attention kernel, which never writes the
    [rows, heads, N, N] logits out: GPU with ``bfloat16``; each layer whose shapes or precision cuDNN refuses,
    or every layer where there is no cuDNN, runs XLA's instead). Measured on an H200 (bench/gpu/README.md):
    a recycling iteration of model_1_ptm in bfloat16 1.76x faster at L = 512 and 1.70x at L = 2,048.
    ``bfloat16``: the trunk (embeddings, templates, extra-MSA stack, Evoformer) computes in bfloat16 with
    float32 layer normalisation, softmax and accumulation; the structure module and heads stay float32.
    Meant for accelerators (on CPU it is slower than float32); outputs move within the parity tolerances
    measured in bench/model/README.md.
    ``zero_init``: AlphaFold2's initialisation of the last layer of every residual update to zero. It only
    matters for freshly initialised (random) parameters; with ``zero_init`` the residual updates start at
    zero, without it every parameter is random, which is what random test and demo parameters want.
    """

    subbatch_size: ChunkSize = AUTO
    triangle_chunk_size: ChunkSize = AUTO
    chunk_budget_mb: float | None = None
    attention_implementation: str = "xla"
    bfloat16: bool = False
    zero_init: bool = True


@dataclass(frozen=True)
class AttentionConfig:
    num_head: int
    gating: bool = True
    key_dim: int | None = None
    value_dim: int | None = None


@dataclass(frozen=True)
class TransitionConfig:
    num_intermediate_factor: int = 4


@dataclass(frozen=True)
class OuterProductMeanConfig:
    """``chunk_size``: pair rows whose [rows, L, c, c] outer products are formed at a time (``"auto"``: see
    :class:`GlobalConfig`). ``first``: the block starts with the outer product mean, before the MSA
    attention (AlphaFold-Multimer's block order); otherwise it follows the MSA transition (AlphaFold2's)."""

    num_outer_channel: int = 32
    chunk_size: ChunkSize = AUTO
    first: bool = False


@dataclass(frozen=True)
class TriangleMultiplicationConfig:
    """``outgoing``: edges ik and jk update ij (Algorithm 11); otherwise ki and kj do (Algorithm 12).

    ``fuse_projection_weights``: AlphaFold-Multimer v3's parameter layout, the two value projections stored
    as one layer ``projection`` [c_z, 2c] and the two gates as ``gate`` (left channels first), with layer
    normalisations ``left_norm_input`` and ``center_norm``; the computation is the same.
    """

    outgoing: bool
    num_intermediate_channel: int = 128
    fuse_projection_weights: bool = False


@dataclass(frozen=True)
class DistogramFeatureConfig:
    """Distance bins: ``num_bins`` lower edges evenly spaced from ``min_bin`` to ``max_bin`` (Angstrom)."""

    min_bin: float
    max_bin: float
    num_bins: int


@dataclass(frozen=True)
class EvoformerBlockConfig:
    """One Evoformer block (Algorithm 6 lines 2-10); the extra-MSA stack uses the same layout."""

    msa_row_attention_with_pair_bias: AttentionConfig = AttentionConfig(num_head=8)
    msa_column_attention: AttentionConfig = AttentionConfig(num_head=8)
    msa_transition: TransitionConfig = TransitionConfig(4)
    outer_product_mean: OuterProductMeanConfig = OuterProductMeanConfig()
    triangle_multiplication_outgoing: TriangleMultiplicationConfig = TriangleMultiplicationConfig(outgoing=True)
    triangle_multiplication_incoming: TriangleMultiplicationConfig = TriangleMultiplicationConfig(outgoing=False)
    triangle_attention_starting_node: AttentionConfig = AttentionConfig(num_head=4)
    triangle_attention_ending_node: AttentionConfig = AttentionConfig(num_head=4)
    pair_transition: TransitionConfig = TransitionConfig(4)


@dataclass(frozen=True)
class TemplatePairStackConfig:
    """The template pair stack (Algorithm 16): ``num_block`` blocks over the 64-channel template pairs."""

    num_block: int = 2
    triangle_attention_starting_node: AttentionConfig = AttentionConfig(num_head=4, key_dim=64, value_dim=64)
    triangle_attention_ending_node: AttentionConfig = AttentionConfig(num_head=4, key_dim=64, value_dim=64)
    triangle_multiplication_outgoing: TriangleMultiplicationConfig = TriangleMultiplicationConfig(
        outgoing=True, num_intermediate_channel=64)
    triangle_multiplication_incoming: TriangleMultiplicationConfig = TriangleMultiplicationConfig(
        outgoing=False, num_intermediate_channel=64)
    pair_transition: TransitionConfig = TransitionConfig(2)


@dataclass(frozen=True)
class TemplateConfig:
    """Template embedding (Algorithm 2 lines 7-13, Algorithms 16-17).

    The template pair channel count is ``template_pair_stack.triangle_attention_ending_node.value_dim``
    (64), as in AlphaFold2. ``subbatch_size`` chunks the point-wise attention over pair positions (``"auto"``:
    see :class:`GlobalConfig`).
    """

    enabled: bool = False
    embed_torsion_angles: bool = False
    max_templates: int = 4
    attention: AttentionConfig = AttentionConfig(num_head=4, gating=False, key_dim=64, value_dim=64)
    dgram_features: DistogramFeatureConfig = DistogramFeatureConfig(min_bin=3.25, max_bin=50.75, num_bins=39)
    template_pair_stack: TemplatePairStackConfig = TemplatePairStackConfig()
    subbatch_size: ChunkSize = AUTO

    @property
    def num_channel(self) -> int:
        value_dim = self.template_pair_stack.triangle_attention_ending_node.value_dim
        if value_dim is None:
            raise ValueError("template_pair_stack.triangle_attention_ending_node.value_dim must be set")
        return value_dim


@dataclass(frozen=True)
class EmbeddingsAndEvoformerConfig:
    """Input embedding, recycling, templates, extra-MSA stack and Evoformer (Algorithm 2 lines 5-18)."""

    evoformer_num_block: int = 48
    evoformer: EvoformerBlockConfig = EvoformerBlockConfig()
    extra_msa_channel: int = 64
    extra_msa_stack_num_block: int = 4
    max_relative_feature: int = 32
    msa_channel: int = 256
    pair_channel: int = 128
    seq_channel: int = 384
    prev_pos: DistogramFeatureConfig = DistogramFeatureConfig(min_bin=3.25, max_bin=20.75, num_bins=15)
    recycle_features: bool = True
    recycle_pos: bool = True
    template: TemplateConfig = TemplateConfig()


@dataclass(frozen=True)
class MaskedMsaConfig:
    """BERT-style corruption of the clustered MSA (supplement section 1.2.7).

    Each position is chosen with probability ``replace_fraction``; a chosen position becomes a uniformly
    random amino acid (``uniform_prob``), a draw from the MSA profile (``profile_prob``), itself
    (``same_prob``), or the mask token (the remaining probability). AlphaFold2 applies it at inference too;
    ``replace_fraction = 0`` turns it off.
    """

    uniform_prob: float = 0.1
    profile_prob: float = 0.1
    same_prob: float = 0.1
    replace_fraction: float = 0.15

    @property
    def mask_token_prob(self) -> float:
        return 1.0 - self.uniform_prob - self.profile_prob - self.same_prob


@dataclass(frozen=True)
class FeatureConfig:
    """Raw features -> processed features (supplement section 1.2).

    ``max_msa_clusters`` sequences of the MSA become cluster centres (the first is always the query);
    ``reduce_msa_clusters_by_max_templates`` leaves room for the template rows the model appends.
    ``max_extra_msa`` of the rest form the extra MSA. With ``resample_msa_in_recycling`` every recycling
    iteration gets its own sample; ``residue_buckets`` lists the lengths the residue dimension is padded
    up to (longer inputs to a multiple of 128), so that a compiled model is reused across targets of
    similar length; an empty tuple pads nothing. The MSA dimensions are padded to the fixed sizes above;
    the model then drops the rows that are padding (:mod:`snakefold.model.padding`), keeping the next
    ``msa_row_buckets`` (cluster rows) and ``extra_msa_row_buckets`` (extra-MSA rows) bucket, so that
    alignments of similar depth share one compiled model.
    """

    max_msa_clusters: int = 512
    max_extra_msa: int = 1024
    use_templates: bool = False
    max_templates: int = 4
    reduce_msa_clusters_by_max_templates: bool = False
    masked_msa: MaskedMsaConfig = MaskedMsaConfig()
    resample_msa_in_recycling: bool = True
    residue_buckets: tuple[int, ...] = (16, 32, 48, 64, 96, 128, 160, 192, 256, 320, 384, 448, 512, 640,
                                        768, 1024, 1280, 1536, 2048)
    msa_row_buckets: tuple[int, ...] = (32, 64, 128, 256, 512)
    extra_msa_row_buckets: tuple[int, ...] = (32, 128, 512, 1024, 2048, 3072, 4096, 5120)

    @property
    def num_msa_clusters(self) -> int:
        """Cluster rows of ``msa_feat``: 508 for the template presets, 512 otherwise."""
        if self.reduce_msa_clusters_by_max_templates:
            return self.max_msa_clusters - self.max_templates
        return self.max_msa_clusters
