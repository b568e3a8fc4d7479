"""Benchmark on one GPU: snakefold's model_1_ptm in float32 and bfloat16, against the reference on the same card.

    bench/gpu/run_on_device.sh OUT_DIR      # on the GPU machine: the carried wheels, then this script's `run`
    python3 bench/gpu/gpu_bench.py run --out OUT_DIR [--lengths 256,512,1024,2048] [--largest 5120,4096,3072] \
        [--cudnn-lengths 512,2048] [--reference-cases 256:float32,512:float32,512:bfloat16] [--budget-s 500]
    python3 bench/gpu/gpu_bench.py table OUT_DIR/gpu_bench.json     # the table again

Every input is synthetic (:mod:`snakefold.features.synthetic`): a random sequence of L residues, a shallow MSA of 64
rows and 2 templates, seed 0; full-size random parameters of model_1_ptm in the official format; 3 recycles
(4 iterations). ``run`` works in stages, each one skipped (and said so) when the time left of ``--budget-s``
cannot hold it, and writes OUT_DIR/gpu_bench.json after each:

1. **Device.** The GPU JAX sees; its dense bfloat16 matrix rate, measured (8192^3 products, median of 10).
2. **Parameters.** ``snakefold make-params`` (seed 0) on the host's CPU backend: the same bits any machine
   makes, and the card stays free for what follows.
3. **In parallel, nothing timed:** the CPU run at L = 64 (:func:`cpu_check`, a subprocess on the CPU
   backend); the reference (``bench/gpu/reference_gpu.py``, one process per length and precision: features,
   compile, then it waits); snakefold's compilations in threads: float32 and bfloat16 at every length, at
   L = 64 and at the first largest candidate, and bfloat16 with cuDNN's fused attention at
   ``--cudnn-lengths``. Each compilation traces the iteration once: the jaxpr gives the FLOPs
   (bench/compare/flops.py: XLA's per-op count with every scan body times its trip count), the compiled
   program XLA's own cost and memory analyses.
4. **On a quiet card, one at a time:** snakefold's runs in ascending size (4 iterations each, every input
   on the card beforehand; each iteration timed to ``block_until_ready``), then the reference's. Time per
   recycle is the median iteration. The bfloat16 runs' CA deviation from the float32 run of the same L,
   and the GPU float32 run at L = 64 against the CPU run (final atoms, Angstrom; that run with float32
   matrix products, ``--cpu-check-precision highest``: JAX's default on a GPU multiplies float32 in TF32).
5. **Largest length:** the first of ``--largest`` whose compiled program fits the card (XLA's memory
   analysis against ``bytes_limit``), bfloat16, then float32 where time is left; as many iterations as
   the time left holds (at least one: each recycling iteration costs the same). ``--largest-fit-only``
   compiles every candidate and records whether it fits, running none.

Peak memory: ``memory_stats()['peak_bytes_in_use']`` is the process's high-water mark (JAX cannot reset
it), so the runs go in ascending size and each records the mark after it; but XLA's autotuning while
compiling sets it before any run (37.6 GiB on an H200). XLA's memory analysis (arguments + outputs +
temporaries of the compiled iteration) is exact per program and is recorded beside.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench" / "compare"))

from snakefold.common.residue_constants import atom_order  # noqa: E402

PRESET = "model_1_ptm"
MSA_DEPTH = 64
NUM_RECYCLE = 3
SEED = 0
CPU_CHECK_LENGTH = 64
#: Precisions of snakefold's model at every length (XLA's attention); cuDNN's attention is bfloat16 only.
PRECISIONS = ("float32", "bfloat16")
#: The GPU float32 run must match the CPU run's final atoms within this (Angstrom).
CPU_TOLERANCE_A = 0.05


def variant_config(precision: str, attention: str):
    from snakefold.model.presets import model_config

    config = model_config(PRESET)
    return config.replace(global_config=dataclasses.replace(
        config.global_config, bfloat16=precision == "bfloat16", attention_implementation=attention))


def raw_features(length: int) -> dict[str, np.ndarray]:
    from snakefold.features.synthetic import synthetic_raw_features

    raw = synthetic_raw_features(length, MSA_DEPTH, 2, seed=SEED)
    return {key: value for key, value in raw.items() if value.dtype.kind not in "OSU"}


def model_inputs(config, length: int) -> list[dict[str, np.ndarray]]:
    """The 4 iterations' batches of snakefold's own feature processing of the synthetic input."""
    from snakefold.model.feature_processing import process_features
    from snakefold.model.model import recycling_slices

    features = process_features(raw_features(length), config.features, num_recycle=NUM_RECYCLE, seed=SEED)
    return recycling_slices(features, config, NUM_RECYCLE)


def ca_positions(atom_positions: np.ndarray, length: int) -> np.ndarray:
    """The CA atoms [length, 3] (float64) of atom37 positions [N_res, 37, 3], padding cut off."""
    return np.asarray(atom_positions, np.float64)[:length, atom_order["CA"]]


def run_iterations(compiled, params, batches, prev_shapes, iterations: int, deadline: float):
    """Up to ``iterations`` recycling iterations of ``compiled`` on inputs already on the card, fewer (at least
    one) where another would end after ``deadline`` (seconds since the epoch).

    Returns the time of each, the first iteration's final atom positions and the last iteration's result.
    """
    import jax
    import jax.numpy as jnp

    on_card = [jax.device_put(batch) for batch in batches[:iterations]]
    prev = {name: jnp.zeros(shape, jnp.float32) for name, shape in prev_shapes.items()}
    jax.block_until_ready((on_card, prev))
    times, result, first_positions = [], None, None
    for batch in on_card:
        start = time.perf_counter()
        result, prev = compiled(params, None, batch, prev)
        jax.block_until_ready((result, prev))
        times.append(time.perf_counter() - start)
        if first_positions is None:
            first_positions = result["structure_module"]["final_atom_positions"]
        if time.time() + times[-1] > deadline:
            break
    return times, np.asarray(first_positions), jax.tree_util.tree_map(np.asarray, result)


def cpu_check(args: argparse.Namespace) -> None:
    """The CPU backend's float32 run at ``--length`` (4 iterations); its final atoms to ``--out``."""
    from snakefold.common.atomic import atomic_save_npz
    from snakefold.model.model import run_model
    from snakefold.model.params import load_params

    config = variant_config("float32", "xla")
    batches = model_inputs(config, args.length)
    features = {name: np.stack([batch[name] for batch in batches]) for name in batches[0]}
    start = time.perf_counter()
    result = run_model(config, load_params(args.params, config), features, num_recycle=NUM_RECYCLE)
    atomic_save_npz(args.out, {"final_atom_positions": result["structure_module"]["final_atom_positions"],
                               "final_atom_mask": result["structure_module"]["final_atom_mask"],
                               "seconds": np.float64(time.perf_counter() - start)})


class Bench:
    """The stages of ``run`` (module docstring), sharing the record, the clock and the work directory."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.out: Path = args.out
        self.work: Path = args.work
        self.out.mkdir(parents=True, exist_ok=True)
        self.work.mkdir(parents=True, exist_ok=True)
        self.timed: list[dict] = []  # every variant run, with its positions (keys starting with _)
        self.deadline = time.time() + args.budget_s
        self.record: dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "budget_s": args.budget_s,
                             "preset": PRESET, "msa_depth": MSA_DEPTH, "num_recycle": NUM_RECYCLE,
                             "snakefold": [], "reference": [], "skipped": [], "errors": []}
        self.params_dir = self.work / "params"
        self.params_file = self.params_dir / "params" / f"params_{PRESET}.npz"

    def left(self) -> float:
        return self.deadline - time.time()

    def save(self) -> None:
        from snakefold.common.atomic import atomic_write_json

        self.record["snakefold"] = [public(variant) for variant in self.timed]
        atomic_write_json(self.out / "gpu_bench.json", self.record)

    def note(self, message: str) -> None:
        print(f"[{self.args.budget_s - self.left():6.1f} s] {message}", flush=True)

    def skip(self, what: str) -> None:
        self.record["skipped"].append(what)
        self.note(f"skipped: {what}")

    def error(self, what: str, error: BaseException) -> None:
        self.record["errors"].append(f"{what}: {type(error).__name__}: {str(error)[:2000]}")
        self.note(f"error: {what}: {type(error).__name__}: {str(error)[:300]}")

    # -- stage 1 ----------------------------------------------------------------------------------------

    def device(self) -> None:
        import jax
        import jax.numpy as jnp

        device = jax.devices()[0]
        stats = device.memory_stats() or {}
        self.record["device"] = {"backend": jax.default_backend(), "kind": device.device_kind,
                                 "jax": jax.__version__, "bytes_limit": stats.get("bytes_limit")}
        self.note(f"device: {self.record['device']}")
        if jax.default_backend() != "gpu" and not self.args.allow_cpu:
            raise SystemExit("JAX sees no GPU: this bench is for a GPU machine (--allow-cpu: a trial run on CPU)")
        size = 8192 if jax.default_backend() == "gpu" else 512
        keys = jax.random.split(jax.random.PRNGKey(0), 2)
        a, b = (jax.random.normal(key, (size, size), jnp.bfloat16) for key in keys)
        product = jax.jit(lambda x, y: x @ y)
        jax.block_until_ready(product(a, b))
        times = []
        for _ in range(10):
            start = time.perf_counter()
            jax.block_until_ready(product(a, b))
            times.append(time.perf_counter() - start)
        self.record["bf16_matmul_tflops"] = 2 * size ** 3 / float(np.median(times)) / 1e12
        self.note(f"bf16 matrix rate {self.record['bf16_matmul_tflops']:.0f} TFLOP/s")

    # -- stage 2 ----------------------------------------------------------------------------------------

    def make_params(self) -> subprocess.Popen:
        self.params_file.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "JAX_PLATFORMS": "cpu"}
        # `snakefold make-params`, through the package: the GPU machine's interpreter has no `snakefold` script.
        command = "import sys; from snakefold.cli import main; sys.exit(main(sys.argv[1:]))"
        return subprocess.Popen([sys.executable, "-c", command, "make-params", "--preset", PRESET,
                                 "--seed", str(SEED), "--out", str(self.params_file)],
                                env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    # -- stage 3 ----------------------------------------------------------------------------------------

    def start_cpu_check(self, make_params: subprocess.Popen) -> subprocess.Popen | None:
        output = make_params.communicate()[0]
        if make_params.returncode != 0:
            raise RuntimeError(f"snakefold make-params failed:\n{output}")
        self.note(output.strip())
        env = {**os.environ, "JAX_PLATFORMS": "cpu",
               "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads=6"}
        return subprocess.Popen([sys.executable, __file__, "cpu-check", "--params", str(self.params_file),
                                 "--length", str(CPU_CHECK_LENGTH), "--out", str(self.work / "cpu_L64.npz")],
                                env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def start_references(self) -> list[tuple[dict, subprocess.Popen]]:
        from snakefold.common.atomic import atomic_save_npz

        started = []
        for length, precision in self.args.reference_cases:
            raw_path = self.work / f"raw_L{length}.npz"
            atomic_save_npz(raw_path, raw_features(length))
            stem = self.work / f"reference_L{length}_{precision}"
            case = {"length": length, "precision": precision, "ready": stem.with_suffix(".ready"),
                    "go": stem.with_suffix(".go"), "record": stem.with_suffix(".json"),
                    "log": self.out / f"reference_L{length}_{precision}.log"}
            for stale in (case["ready"], case["go"], case["record"]):
                stale.unlink(missing_ok=True)
            env = {**os.environ, "XLA_PYTHON_CLIENT_MEM_FRACTION": "0.2"}
            process = subprocess.Popen(
                [self.args.reference_python, str(REPO / "bench" / "gpu" / "reference_gpu.py"),
                 "--raw", str(raw_path), "--params-dir", str(self.params_dir), "--precision", precision,
                 "--ready", str(case["ready"]), "--go", str(case["go"]), "--record", str(case["record"]),
                 "--deadline", str(self.deadline)],
                env=env, cwd=REPO, stdout=case["log"].open("w"), stderr=subprocess.STDOUT)
            started.append((case, process))
        return started

    def compile_variant(self, length: int, precision: str, attention: str, matmul_precision: str = "default") -> dict:
        """Trace, count and compile one variant (no device execution except XLA's autotuning).

        ``matmul_precision``: JAX's default matrix-product precision while tracing; ``"default"`` lets a GPU
        multiply float32 in TF32, ``"highest"`` keeps float32 products float32 (the comparison with the CPU).
        """
        import jax
        from flops import jaxpr_flops

        from snakefold.model.model import initial_prev, jitted_apply

        config = variant_config(precision, attention)
        batches = model_inputs(config, length)
        padded = batches[0]["aatype"].shape[0]
        prev_shapes = {name: value.shape for name, value in initial_prev(config, padded).items()}
        abstract_prev = {name: jax.ShapeDtypeStruct(shape, np.float32) for name, shape in prev_shapes.items()}
        abstract_batch = {name: jax.ShapeDtypeStruct(value.shape, value.dtype) for name, value in batches[0].items()}
        start = time.perf_counter()
        with jax.default_matmul_precision(matmul_precision):
            traced = jitted_apply(config).trace(self.abstract_params, None, abstract_batch, abstract_prev)
            flops = jaxpr_flops(traced.jaxpr.jaxpr)
            lowered = traced.lower()
        trace_s = time.perf_counter() - start
        start = time.perf_counter()
        compiled = lowered.compile()
        compile_s = time.perf_counter() - start
        memory = compiled.memory_analysis()
        cost = compiled.cost_analysis()
        cost = cost[0] if isinstance(cost, (list, tuple)) else cost
        program_bytes = memory.argument_size_in_bytes + memory.output_size_in_bytes + memory.temp_size_in_bytes
        return {"length": length, "padded_length": padded, "precision": precision, "attention": attention,
                "matmul_precision": matmul_precision,
                "msa_rows": int(batches[0]["msa_feat"].shape[0]), "extra_rows": int(batches[0]["extra_msa"].shape[0]),
                "trace_s": round(trace_s, 2), "compile_s": round(compile_s, 2), "flops_per_iteration": flops,
                "xla_cost_analysis_flops": float((cost or {}).get("flops", 0.0)),
                "xla_program_bytes": int(program_bytes), "xla_temp_bytes": int(memory.temp_size_in_bytes),
                "_compiled": compiled, "_batches": batches, "_prev_shapes": prev_shapes}

    def compile_all(self, cases: list[tuple], workers: int) -> list[dict]:
        """:meth:`compile_variant` of each case, ``workers`` at a time; a case that fails is recorded."""
        compiled = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(self.compile_variant, *case): case for case in cases}
            for future in concurrent.futures.as_completed(futures):
                case = futures[future]
                try:
                    variant = future.result()
                except Exception as error:  # a variant the card or XLA refuses (cuDNN shapes): recorded
                    self.error(f"compile L={case[0]} {case[1]} {case[2]}", error)
                    continue
                self.note(f"compiled L={case[0]} {case[1]} {case[2]}: trace {variant['trace_s']} s, "
                          f"compile {variant['compile_s']} s, {variant['flops_per_iteration'] / 1e12:.2f} TFLOP")
                compiled.append(variant)
        return compiled

    # -- stage 4 ----------------------------------------------------------------------------------------

    def time_variant(self, variant: dict, params, iterations: int = NUM_RECYCLE + 1) -> None:
        import jax

        times, first_positions, result = run_iterations(
            variant.pop("_compiled"), params, variant.pop("_batches"), variant.pop("_prev_shapes"), iterations,
            self.deadline)
        stats = jax.devices()[0].memory_stats() or {}
        per_recycle = float(np.median(times))
        bf16_peak = self.record.get("bf16_matmul_tflops")
        variant.update(iteration_s=[round(seconds, 4) for seconds in times], time_per_recycle_s=per_recycle,
                       tflops=variant["flops_per_iteration"] / per_recycle / 1e12,
                       peak_bytes_in_use=stats.get("peak_bytes_in_use"),
                       finite=bool(np.all(np.isfinite(result["structure_module"]["final_atom_positions"]))))
        if bf16_peak:
            variant["fraction_of_bf16_peak"] = variant["tflops"] / bf16_peak
        atoms = result["structure_module"]["final_atom_positions"]
        variant["_ca"] = ca_positions(atoms, variant["length"])
        variant["_ca_first"] = ca_positions(first_positions, variant["length"])
        variant["_atoms"] = atoms[:variant["length"]]
        self.note(f"ran L={variant['length']} {variant['precision']} {variant['attention']}: "
                  f"{per_recycle:.3f} s per recycle, {variant['tflops']:.1f} TFLOP/s")

    def deviations(self, variants: list[dict]) -> None:
        """bfloat16's CA deviation from the float32 run of the same L, after the first and the last iteration."""
        float32 = {variant["length"]: variant for variant in variants
                   if variant["precision"] == "float32" and "_ca" in variant}
        for variant in variants:
            reference = float32.get(variant["length"])
            if variant["precision"] == "bfloat16" and "_ca" in variant and reference is not None:
                # After the first iteration (bfloat16's own error) and after the last (recycled 3 times).
                for key, name in (("_ca_first", "ca_deviation_from_float32_first_iteration_A"),
                                  ("_ca", "ca_deviation_from_float32_A")):
                    distances = np.linalg.norm(variant[key] - reference[key], axis=-1)
                    variant[name] = {"mean": float(distances.mean()), "max": float(distances.max()),
                                     "rmsd_superposed": superposed_rmsd(variant[key], reference[key])}

    def compare_with_cpu(self, variants: list[dict], cpu: subprocess.Popen | None) -> None:
        gpu = next((variant for variant in variants if variant["length"] == CPU_CHECK_LENGTH
                    and variant["precision"] == "float32" and "_atoms" in variant), None)
        if cpu is None or gpu is None:
            return self.skip("GPU float32 against CPU at L = 64")
        try:
            output = cpu.communicate(timeout=max(self.left(), 1))[0]
        except subprocess.TimeoutExpired:
            cpu.kill()
            return self.skip("GPU float32 against CPU at L = 64 (the CPU run did not finish)")
        if cpu.returncode != 0:
            return self.error("CPU run at L = 64", RuntimeError(output[-2000:]))
        with np.load(self.work / "cpu_L64.npz") as archive:
            cpu_atoms = archive["final_atom_positions"][:CPU_CHECK_LENGTH]
            mask, seconds = archive["final_atom_mask"][:CPU_CHECK_LENGTH], archive["seconds"]
        difference = np.abs(gpu["_atoms"] - cpu_atoms)[mask > 0]
        self.record["gpu_against_cpu_L64"] = {"max_abs_A": float(difference.max()), "tolerance_A": CPU_TOLERANCE_A,
                                              "within_tolerance": bool(difference.max() <= CPU_TOLERANCE_A),
                                              "cpu_run_s": float(seconds)}
        self.note(f"GPU against CPU at L = 64: {self.record['gpu_against_cpu_L64']}")

    def run_references(self, started: list[tuple[dict, subprocess.Popen]]) -> None:
        for case, process in started:
            name = f"reference L={case['length']} {case['precision']}"
            while not case["ready"].exists() and process.poll() is None and self.left() > 0:
                time.sleep(0.1)
            if not case["ready"].exists():
                process.kill()
                self.skip(f"{name} (not ready: {case['log'].read_text()[-600:]})")
                continue
            case["go"].write_text("go\n")
            try:
                process.wait(timeout=max(self.left(), 1))
            except subprocess.TimeoutExpired:
                process.kill()
                self.skip(f"{name} (its timed run outlasted the budget)")
                continue
            if process.returncode != 0 or not case["record"].exists():
                self.error(name, RuntimeError(case["log"].read_text()[-2000:]))
                continue
            reference = json.loads(case["record"].read_text())
            self.record["reference"].append(reference)
            self.note(f"{name}: {reference['time_per_recycle_s']:.3f} s per recycle")

    # -- stage 5 ----------------------------------------------------------------------------------------

    def largest(self, params, precompiled: list[dict]) -> None:
        """The largest length of ``--largest`` that fits, bfloat16 then float32, as time allows.

        ``precompiled``: the first candidate's variants, compiled beside the others; a candidate that does
        not fit (XLA's memory analysis against the card's ``bytes_limit``) gives way to the next, compiled here.
        """
        limit = self.record["device"]["bytes_limit"]
        for precision in PRECISIONS[::-1]:
            previous = max((variant for variant in self.timed if variant["precision"] == precision
                            and variant["attention"] == "xla"), key=lambda variant: variant["length"], default=None)
            for length in self.args.largest:
                if previous is None:
                    break
                # An iteration's cost grows about as L^3 at these lengths.
                estimate = previous["time_per_recycle_s"] * (length / previous["length"]) ** 3
                variant = next((item for item in precompiled
                                if (item["length"], item["precision"]) == (length, precision)), None)
                compile_estimate = 0 if variant is not None else 1.5 * previous["compile_s"]
                if self.left() < compile_estimate + estimate + 20:
                    self.skip(f"largest L: {precision} L={length} (about {estimate:.0f} s per recycle, "
                              f"{self.left():.0f} s left)")
                    continue
                if variant is None:
                    try:
                        variant = self.compile_variant(length, precision, "xla")
                    except Exception as error:
                        self.error(f"compile largest L={length} {precision}", error)
                        continue
                if limit and variant["xla_program_bytes"] > limit:
                    self.note(f"L={length} {precision} needs {variant['xla_program_bytes'] / 2**30:.1f} GiB "
                              f"of {limit / 2**30:.1f}: does not fit")
                    self.record.setdefault("does_not_fit", []).append(public(variant))
                    continue
                iterations = int(max(1, min(NUM_RECYCLE + 1, (self.left() - 15) // max(estimate, 1e-3))))
                try:
                    self.time_variant(variant, params, iterations)
                except Exception as error:  # out of memory at run time
                    self.error(f"run largest L={length} {precision}", error)
                    continue
                self.timed.append(variant)
                self.save()
                break

    def fits(self, compiled: list[dict]) -> None:
        """Whether each compiled largest candidate fits the card (XLA's memory analysis), without running it."""
        limit = self.record["device"]["bytes_limit"]
        for variant in sorted(compiled, key=lambda item: (item["precision"], item["length"])):
            fits = bool(limit and variant["xla_program_bytes"] <= limit)
            self.record.setdefault("largest_fit", []).append({**public(variant), "bytes_limit": limit, "fits": fits})
            self.note(f"L={variant['length']} {variant['precision']}: XLA program "
                      f"{variant['xla_program_bytes'] / 2**30:.1f} GiB of {(limit or 0) / 2**30:.1f}")
        self.save()

    # -- the run ------------------------------------------------------------------------------------------

    def run(self) -> None:
        import jax

        from snakefold.model.params import flat_to_haiku, load_params, param_shapes

        self.device()
        self.save()
        make_params = self.make_params()
        references = self.start_references()
        self.abstract_params = flat_to_haiku({name: jax.ShapeDtypeStruct(shape, np.float32) for name, shape
                                              in param_shapes(variant_config("float32", "xla")).items()})
        # The first largest candidate first (the longest compilations), then the rest.
        candidates = self.args.largest if self.args.largest_fit_only else self.args.largest[:1]
        cases = [(length, precision, "xla") for length in candidates for precision in PRECISIONS]
        cases += [(CPU_CHECK_LENGTH, "float32", "xla", self.args.cpu_check_precision)]
        cases += [(length, precision, "xla") for length in self.args.lengths for precision in self.args.precisions]
        cases += [(length, "bfloat16", "cudnn") for length in self.args.cudnn_lengths]
        compiled = self.compile_all(cases, self.args.compile_workers)
        precompiled = [variant for variant in compiled if variant["length"] in candidates]
        compiled = [variant for variant in compiled if variant not in precompiled]
        cpu = self.start_cpu_check(make_params)
        params = jax.device_put(load_params(self.params_file))
        jax.block_until_ready(params)
        for variant in sorted(compiled, key=lambda item: (item["padded_length"], item["precision"] == "float32",
                                                          item["attention"])):
            if self.left() < 30:
                self.skip(f"run L={variant['length']} {variant['precision']} {variant['attention']}")
                continue
            try:
                self.time_variant(variant, params)
            except Exception as error:
                self.error(f"run L={variant['length']} {variant['precision']} {variant['attention']}", error)
                continue
            self.timed.append(variant)
            self.save()
        self.deviations(self.timed)
        self.compare_with_cpu(self.timed, cpu)
        self.save()
        self.run_references(references)
        self.save()
        if self.args.largest_fit_only:
            self.fits(precompiled)
        else:
            self.largest(params, precompiled)
        self.deviations(self.timed)
        self.record["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        self.save()


def superposed_rmsd(mobile: np.ndarray, target: np.ndarray) -> float:
    """RMSD (Angstrom) of two [N, 3] point sets after optimal rigid superposition (Kabsch)."""
    mobile, target = mobile - mobile.mean(0), target - target.mean(0)
    u, _, vt = np.linalg.svd(mobile.T @ target)
    sign = np.sign(np.linalg.det(u @ vt))
    rotation = u @ np.diag([1.0, 1.0, sign]) @ vt
    return float(np.sqrt(np.mean(np.sum(np.square(mobile @ rotation - target), axis=-1))))


def public(variant: dict) -> dict:
    return {key: value for key, value in variant.items() if not key.startswith("_")}


def table(record: dict) -> str:
    """The README's table: per L and implementation, time per recycle, peak memory and the fraction of peak."""
    peak = record.get("bf16_matmul_tflops")
    lines = [f"device: {record.get('device', {}).get('kind')}, JAX {record.get('device', {}).get('jax')}; "
             f"bf16 matrix rate measured {peak or 0:.0f} TFLOP/s; model_1_ptm, MSA {record['msa_depth']} rows, "
             f"{record['num_recycle']} recycles",
             "",
             "| implementation | L | precision | attention | compile s | s per recycle | TFLOP per iteration | "
             "TFLOP/s | fraction of bf16 peak | peak GiB (process) | XLA program GiB | CA dev. from fp32, A: "
             "mean/max after iteration 1; after 4 |",
             "|---|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for variant in sorted(record["snakefold"], key=lambda item: (item["length"], item["precision"], item["attention"])):
        deviation = variant.get("ca_deviation_from_float32_A")
        first = variant.get("ca_deviation_from_float32_first_iteration_A")
        lines.append(
            f"| snakefold | {variant['length']} | {variant['precision']} | {variant['attention']} | "
            f"{variant['compile_s']:.1f} | {variant['time_per_recycle_s']:.3f} | "
            f"{variant['flops_per_iteration'] / 1e12:.2f} | {variant['tflops']:.1f} | "
            f"{variant.get('fraction_of_bf16_peak', 0):.3f} | {(variant['peak_bytes_in_use'] or 0) / 2**30:.1f} | "
            f"{variant['xla_program_bytes'] / 2**30:.1f} | "
            + (f"{first['mean']:.3f}/{first['max']:.3f}; {deviation['mean']:.3f}/{deviation['max']:.3f} |"
               if deviation else "- |"))
    for reference in sorted(record["reference"], key=lambda item: (item["length"], item["precision"])):
        lines.append(
            f"| reference | {reference['length']} | {reference['precision']} | xla | - | "
            f"{reference['time_per_recycle_s']:.3f} | - | - | - | {(reference['peak_bytes_in_use'] or 0) / 2**30:.1f} "
            f"| - | - |")
    ratios = []
    for reference in record["reference"]:
        for variant in record["snakefold"]:
            if (variant["length"], variant["precision"], variant["attention"]) == (
                    reference["length"], reference["precision"], "xla"):
                ratios.append(f"L={reference['length']} {reference['precision']}: snakefold/reference "
                              f"{variant['time_per_recycle_s'] / reference['time_per_recycle_s']:.3f}")
    lines += ["", *ratios]
    estimate = reference_largest_length(record)
    if estimate:
        lines.append(f"reference float32: largest L that fits, estimated from its peak memory at L = {estimate[1]} "
                     f"(a + b L^2, to {estimate[2] / 2**30:.0f} GiB): about {estimate[0]:.0f}")
    if "gpu_against_cpu_L64" in record:
        lines.append(f"GPU float32 against CPU at L = 64: {record['gpu_against_cpu_L64']}")
    lines += [f"skipped: {item}" for item in record["skipped"]] + [f"error: {item[:300]}" for item in record["errors"]]
    return "\n".join(lines)


def reference_largest_length(record: dict) -> tuple[float, list[int], int] | None:
    """The reference's largest float32 length, extrapolated: its peak memory at two lengths fitted as a + b L^2
    (its pair activations and chunked attention logits grow with L^2), solved for the card's ``bytes_limit``.
    An estimate, not a run; None without two measured lengths."""
    points = sorted((item["length"], item["peak_bytes_in_use"]) for item in record["reference"]
                    if item["precision"] == "float32" and item.get("peak_bytes_in_use"))
    limit = record.get("device", {}).get("bytes_limit")
    if len(points) < 2 or not limit:
        return None
    (short, short_bytes), (long, long_bytes) = points[0], points[-1]
    slope = (long_bytes - short_bytes) / (long ** 2 - short ** 2)
    if slope <= 0:
        return None
    return float(np.sqrt(long ** 2 + (limit - long_bytes) / slope)), [short, long], int(limit)


def int_list(text: str) -> list[int]:
    return [int(item) for item in text.split(",") if item]


def reference_cases(text: str) -> list[tuple[int, str]]:
    cases = [(int(length), precision) for length, precision in (item.split(":") for item in text.split(",") if item)]
    if any(precision not in PRECISIONS for _, precision in cases):
        raise argparse.ArgumentTypeError(f"precisions are {' or '.join(PRECISIONS)}: {text}")
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run")
    run.add_argument("--out", type=Path, required=True, help="the record, the logs and the table")
    run.add_argument("--work", type=Path, default=Path("/tmp/snakefold-gpu-bench"),
                     help="parameters and inputs (large; kept out of --out)")
    run.add_argument("--lengths", type=int_list, default=[256, 512, 1024, 2048])
    run.add_argument("--largest", type=int_list, default=[5120, 4096, 3072])
    run.add_argument("--cudnn-lengths", type=int_list, default=[512, 2048],
                     help="lengths also run with cuDNN's fused attention (bfloat16)")
    run.add_argument("--reference-cases", type=reference_cases, default=reference_cases(
        "256:float32,512:float32,512:bfloat16"), help="the reference's runs, LENGTH:PRECISION,...")
    run.add_argument("--reference-python", default=sys.executable,
                     help="the interpreter that has the reference (on the GPU machine: this one, with the wheels)")
    run.add_argument("--precisions", type=lambda text: [item for item in text.split(",") if item],
                     default=list(PRECISIONS), help="precisions run at --lengths")
    run.add_argument("--cpu-check-precision", choices=("default", "highest"), default="highest",
                     help="matrix-product precision of the GPU float32 run compared with the CPU (default: highest)")
    run.add_argument("--largest-fit-only", action="store_true",
                     help="compile every --largest candidate and record whether it fits, without running it")
    run.add_argument("--compile-workers", type=int, default=4)
    run.add_argument("--budget-s", type=float, default=500.0)
    run.add_argument("--allow-cpu", action="store_true", help="run on the CPU backend: a trial of the script")
    check = commands.add_parser("cpu-check")
    check.add_argument("--params", required=True)
    check.add_argument("--length", type=int, required=True)
    check.add_argument("--out", required=True)
    show = commands.add_parser("table")
    show.add_argument("record", type=Path)
    args = parser.parse_args()
    if args.command == "run":
        bench = Bench(args)
        try:
            bench.run()
        except BaseException as error:  # the record so far, and what stopped the run
            bench.error("run stopped", error)
            raise
        finally:
            bench.save()
            print(table(bench.record))
    elif args.command == "cpu-check":
        cpu_check(args)
    else:
        print(table(json.loads(args.record.read_text())))


if __name__ == "__main__":
    main()
