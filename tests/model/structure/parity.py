"""Run snakefold's structure module and heads on a reference fixture and measure the differences.

A fixture (written by ``fixtures/make_fixture.py`` with the reference implementation) holds parameters in
the official key format, random representations, a processed batch and the reference's outputs. The
test suite checks the small stored fixture; the same functions check full-size fixtures made elsewhere:

    .venv/bin/python -m tests.model.structure.parity /tmp/structure_parity/*.npz
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np

from snakefold.common.ranking import ranking_confidence
from snakefold.model import confidence
from snakefold.model.all_atom import atom37_to_torsion_angles
from snakefold.model.heads import (
    DistogramHead,
    ExperimentallyResolvedHead,
    MaskedMsaHead,
    PredictedAlignedErrorHead,
    PredictedLDDTHead,
    PredictedLDDTHeadConfig,
)
from snakefold.model.hyperparameters import GlobalConfig
from snakefold.model.invariant_point_attention import InvariantPointAttentionConfig
from snakefold.model.structure_module import StructureModule, StructureModuleConfig, TorsionAngleResNetConfig

SMALL_FIXTURE = Path(__file__).parent / "fixtures" / "structure_small.npz"


def load_fixture(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    fixture = {"config": json.loads(str(arrays.pop("config"))), "params": {}, "input": {}, "batch": {},
               "output": {}}
    for key, value in arrays.items():
        group, name = key.split("/", 1)
        fixture[group][name] = value
    return fixture


def structure_module_config(sizes: dict) -> StructureModuleConfig:
    sm = sizes["structure_module"]
    return StructureModuleConfig(
        num_layer=sm["num_layer"], num_channel=sm["num_channel"],
        invariant_point_attention=InvariantPointAttentionConfig(
            num_head=sm["num_head"], num_scalar_qk=sm["num_scalar_qk"], num_scalar_v=sm["num_scalar_v"],
            num_point_qk=sm["num_point_qk"], num_point_v=sm["num_point_v"]),
        torsion_angles=TorsionAngleResNetConfig(num_channel=sm["sidechain_num_channel"]))


def haiku_params(flat: dict) -> dict:
    """Official ``scope//name`` keys -> Haiku's {scope: {name: array}}."""
    params: dict = {}
    for key, value in flat.items():
        scope, name = key.split("//")
        params.setdefault(scope, {})[name] = jnp.asarray(value)
    return params


def run_snakefold(fixture: dict) -> dict:
    """snakefold's structure module and heads on the fixture's inputs: outputs flattened like the fixture's."""
    sizes = fixture["config"]
    global_config = GlobalConfig(zero_init=False)

    def forward(representations, batch):
        with hk.name_scope("alphafold/alphafold_iteration"):
            result = {
                "distogram": DistogramHead(global_config=global_config)(representations, batch),
                "experimentally_resolved": ExperimentallyResolvedHead(global_config=global_config)(
                    representations, batch),
                "masked_msa": MaskedMsaHead(global_config=global_config)(representations, batch),
            }
            structure = StructureModule(structure_module_config(sizes), global_config)(representations, batch)
            representations = {**representations, **structure["representations"]}
            result["structure_module"] = structure
            result["predicted_lddt"] = PredictedLDDTHead(
                PredictedLDDTHeadConfig(num_channels=sizes["predicted_lddt_num_channels"]), global_config)(
                    representations, batch)
            if sizes["has_predicted_aligned_error"]:
                result["predicted_aligned_error"] = PredictedAlignedErrorHead(global_config=global_config)(
                    representations, batch)
            return result

    transformed = hk.transform(forward)
    representations = {key: jnp.asarray(fixture["input"][key]) for key in ("single", "pair", "msa")}
    batch = {key: jnp.asarray(value) for key, value in fixture["batch"].items()}
    result = jax.device_get(jax.jit(transformed.apply)(haiku_params(fixture["params"]), None, representations,
                                                         batch))
    flat = _flatten(result)
    seq_mask = fixture["batch"]["seq_mask"]
    plddt = confidence.plddt(flat["predicted_lddt/logits"])
    flat["confidence/plddt"] = plddt
    flat["confidence/mean_plddt"] = ranking_confidence(plddt, seq_mask)
    if sizes["has_predicted_aligned_error"]:
        logits, breaks = flat["predicted_aligned_error/logits"], flat["predicted_aligned_error/breaks"]
        pae = confidence.predicted_aligned_error(logits, breaks)
        flat["confidence/predicted_aligned_error"] = pae["predicted_aligned_error"]
        flat["confidence/max_predicted_aligned_error"] = pae["max_predicted_aligned_error"]
        flat["confidence/ptm"] = confidence.ptm(logits, breaks, seq_mask)
    # Torsion angles of the reference's atoms, compiled as the reference's were: undefined angles come
    # from degenerate (zero) atom positions and are only reproducible from bit-identical inputs.
    for placeholder in (False, True):
        torsion_angles = jax.jit(functools.partial(atom37_to_torsion_angles, placeholder_for_undefined=placeholder))
        torsions = jax.device_get(torsion_angles(
            fixture["batch"]["aatype"][None], fixture["output"]["structure_module/final_atom_positions"][None],
            fixture["input"]["torsion_atom_mask"][None]))
        torsions = {name: value[0] for name, value in torsions.items()}
        flat.update({f"torsions/placeholder_{placeholder}/{k}": v for k, v in torsions.items()})
    return flat


def _flatten(tree, prefix: str = "") -> dict:
    if isinstance(tree, dict):
        out = {}
        for key, value in tree.items():
            out.update(_flatten(value, f"{prefix}{key}/"))
        return out
    return {prefix[:-1]: np.asarray(tree)}


def differences(fixture: dict, ours: dict) -> dict[str, float]:
    """The parity measures: max abs coordinate errors (Angstrom) over existing atoms, max abs errors of
    pLDDT, PAE, pTM and angles, and head logits' max abs error relative to the reference's max abs."""
    ref = fixture["output"]

    def max_abs(key: str, mask: np.ndarray | None = None) -> float:
        error = np.abs(np.asarray(ours[key], np.float64) - ref[key])
        if mask is not None:
            error = error * mask
        return float(error.max())

    def relative(key: str) -> float:
        return max_abs(key) / float(np.abs(ref[key]).max())

    atom37_mask = fixture["batch"]["atom37_atom_exists"][..., None]
    atom14_mask = fixture["batch"]["atom14_atom_exists"][..., None]
    ref_atom_pos = np.stack([ref[f"structure_module/sidechains/atom_pos/{axis}"] for axis in "xyz"], axis=-1)
    result = {
        "final_atom_positions_A": max_abs("structure_module/final_atom_positions", atom37_mask),
        "final_atom14_positions_A": max_abs("structure_module/final_atom14_positions", atom14_mask),
        "trajectory_atom14_positions_A": float(np.max(np.abs(
            ours["structure_module/sidechains/atom_pos"] - ref_atom_pos) * atom14_mask)),
        "traj": max_abs("structure_module/traj"),
        "angles_sin_cos": max_abs("structure_module/sidechains/angles_sin_cos"),
        "unnormalized_angles_relative": relative("structure_module/sidechains/unnormalized_angles_sin_cos"),
        "structure_module_representation_relative": relative(
            "structure_module/representations/structure_module"),
        "final_atom_mask": max_abs("structure_module/final_atom_mask"),
        "predicted_lddt_logits_relative": relative("predicted_lddt/logits"),
        "distogram_logits_relative": relative("distogram/logits"),
        "distogram_bin_edges": max_abs("distogram/bin_edges"),
        "masked_msa_logits_relative": relative("masked_msa/logits"),
        "experimentally_resolved_logits_relative": relative("experimentally_resolved/logits"),
        "plddt": max_abs("confidence/plddt"),
        "mean_plddt": max_abs("confidence/mean_plddt"),
    }
    if fixture["config"]["has_predicted_aligned_error"]:
        result.update({
            "predicted_aligned_error_logits_relative": relative("predicted_aligned_error/logits"),
            "predicted_aligned_error_breaks": max_abs("predicted_aligned_error/breaks"),
            "pae": max_abs("confidence/predicted_aligned_error"),
            "max_pae": max_abs("confidence/max_predicted_aligned_error"),
            "ptm": max_abs("confidence/ptm"),
        })
    # Undefined angles (mask 0) are rounding noise of degenerate geometry unless replaced by placeholders.
    defined = ref["torsions/placeholder_False/torsion_angles_mask"][..., None]
    for placeholder in (False, True):
        prefix = f"torsions/placeholder_{placeholder}/"
        for name in ("torsion_angles_sin_cos", "alt_torsion_angles_sin_cos"):
            result[prefix + name] = max_abs(prefix + name, None if placeholder else defined)
        result[prefix + "torsion_angles_mask"] = max_abs(prefix + "torsion_angles_mask")
    return result


def main(paths: list[str]) -> None:
    for path in paths:
        fixture = load_fixture(Path(path))
        config = fixture["config"]
        print(f"{path}: {config['preset']} L={config['L']} size={config['size']}")
        for name, value in differences(fixture, run_snakefold(fixture)).items():
            print(f"  {name:55s} {value:.3g}")


if __name__ == "__main__":
    main(sys.argv[1:])
