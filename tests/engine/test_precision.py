"""bfloat16 where the CPU has it: detection, the per-model setting, and a model that keeps the precision it used."""

import numpy as np
import pytest
from tiny_models import BFLOAT16_METHODS, TINY_METHODS

from inspection.engine.bundle import load_bundle, save_bundle
from inspection.engine.features.map_embedding import AnomalyMapEmbedder
from inspection.engine.methods import create_method
from inspection.engine.networks import precision
from tests.synthetic_images import defective_part, part_set

AMX_CPU = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_tile amx_bf16 amx_int8\n"
AVX512_BF16_CPU = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16\n"
PLAIN_CPU = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\n"


def test_bfloat16_instructions_are_read_from_the_cpu_flags():
    assert precision.bfloat16_instructions(AMX_CPU) == ["amx_bf16", "avx512_bf16"]
    assert precision.bfloat16_instructions(AVX512_BF16_CPU) == ["avx512_bf16"]
    assert precision.bfloat16_instructions(PLAIN_CPU) == []
    assert precision.bfloat16_instructions("no flags line here") == []


def test_auto_chooses_bfloat16_only_where_the_cpu_computes_it_and_explicit_settings_are_kept():
    assert precision.resolved_precision("auto", AMX_CPU) == "bfloat16"
    assert precision.resolved_precision("auto", PLAIN_CPU) == "float32"
    assert precision.resolved_precision("float32", AMX_CPU) == "float32"
    assert precision.resolved_precision("bfloat16", PLAIN_CPU) == "bfloat16"
    with pytest.raises(ValueError, match="precision must be one of auto, float32, bfloat16"):
        precision.resolved_precision("float16")
    with pytest.raises(ValueError, match="precision must be one of"):
        create_method("cpcae-knn", precision="half")


def test_bfloat16_embeddings_agree_with_float32_ones():
    maps = [part_set(seed=3, n_normal=1)[0] * 0.5, defective_part(np.random.default_rng(1))[0] * 0.5]
    single = AnomalyMapEmbedder(backbone="efficientnet-lite0", grid=3).embed(np.stack(maps))
    reduced = AnomalyMapEmbedder(backbone="efficientnet-lite0", grid=3, precision="bfloat16").embed(np.stack(maps))
    assert reduced.dtype == np.float32 and reduced.shape == single.shape
    assert not np.array_equal(reduced, single)  # really computed in another format
    # EfficientNet-Lite0 on these parts: 0.996; what bfloat16 does to the scores is in docs/benchmarks.md.
    assert np.corrcoef(single.ravel(), reduced.ravel())[0, 1] >= 0.99


@pytest.fixture(scope="module")
def fitted_on_a_bfloat16_cpu():
    settings = {**TINY_METHODS["cpcae-knn"], "precision": "auto"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(precision, "bfloat16_instructions", lambda cpuinfo=None: ["amx_bf16"])
        return create_method("cpcae-knn", **settings).fit(part_set(seed=2, n_normal=8))


def test_fit_records_the_precision_auto_chose_and_the_embedder_uses_it(fitted_on_a_bfloat16_cpu):
    assert fitted_on_a_bfloat16_cpu.precision == "auto"
    assert fitted_on_a_bfloat16_cpu.precision_ == "bfloat16"
    assert fitted_on_a_bfloat16_cpu._embedder().precision == "bfloat16"


def test_a_loaded_model_keeps_its_precision_on_a_cpu_without_bfloat16(fitted_on_a_bfloat16_cpu, tmp_path, monkeypatch):
    probe = part_set(seed=11, n_normal=2) + [defective_part(np.random.default_rng(4))[0]]
    path = save_bundle(tmp_path / "bundle", detector=fitted_on_a_bfloat16_cpu, image_shape=(96, 96, 1))
    monkeypatch.setattr(precision, "bfloat16_instructions", lambda cpuinfo=None: [])
    loaded = load_bundle(path)
    assert loaded.manifest["method_config"]["precision_"] == "bfloat16"
    assert loaded.detector.precision_ == "bfloat16"
    np.testing.assert_allclose(loaded.detector.score(probe), fitted_on_a_bfloat16_cpu.score(probe), rtol=1e-6)
    np.testing.assert_allclose(loaded.detector.explain(probe).scores, loaded.detector.score(probe), rtol=1e-6)


def test_a_model_stored_before_the_setting_runs_in_float32(fitted_on_a_bfloat16_cpu, tmp_path):
    import json

    path = save_bundle(tmp_path / "bundle", detector=fitted_on_a_bfloat16_cpu, image_shape=(96, 96, 1))
    manifest = json.loads((path / "bundle.json").read_text())
    del manifest["method_config"]["precision_"], manifest["method_config"]["params"]["precision"]
    (path / "bundle.json").write_text(json.dumps(manifest))
    assert load_bundle(path).detector.precision_ == "float32"


@pytest.mark.parametrize("method", BFLOAT16_METHODS)
def test_an_unknown_precision_is_refused_when_the_method_is_created(method):
    with pytest.raises(ValueError, match="precision must be one of auto, float32, bfloat16, not 'half'"):
        create_method(method, **{**TINY_METHODS[method], "precision": "half"})


@pytest.fixture(scope="module", params=BFLOAT16_METHODS)
def fitted_in_both_precisions(request):
    """A tiny model of the method fitted in float32 and in bfloat16 (asked for explicitly: works on any CPU)."""
    training = part_set(seed=2, n_normal=8)
    return {
        chosen: create_method(request.param, **{**TINY_METHODS[request.param], "precision": chosen}).fit(training)
        for chosen in ("float32", "bfloat16")
    }


PROBE = part_set(seed=11, n_normal=3) + [defective_part(np.random.default_rng(4))[0]]


def test_each_network_method_records_the_precision_it_ran_in_and_really_ran_in_it(fitted_in_both_precisions):
    single, reduced = fitted_in_both_precisions["float32"], fitted_in_both_precisions["bfloat16"]
    assert (single.precision_, reduced.precision_) == ("float32", "bfloat16")
    single_scores, reduced_scores = single.score(PROBE), reduced.score(PROBE)
    assert not np.array_equal(single_scores, reduced_scores)  # the bfloat16 path really ran
    assert np.argmax(single_scores) == np.argmax(reduced_scores) == len(PROBE) - 1  # the part with the blob


def test_a_loaded_bfloat16_model_keeps_its_precision_and_its_scores_on_any_cpu(
    fitted_in_both_precisions, tmp_path, monkeypatch
):
    reduced = fitted_in_both_precisions["bfloat16"]
    path = save_bundle(tmp_path / "bundle", detector=reduced, image_shape=(96, 96, 1))
    monkeypatch.setattr(precision, "bfloat16_instructions", lambda cpuinfo=None: [])
    loaded = load_bundle(path).detector
    assert loaded.precision_ == "bfloat16"
    np.testing.assert_allclose(loaded.score(PROBE), reduced.score(PROBE), rtol=1e-6)


def test_a_stored_model_with_an_unknown_precision_is_refused(fitted_on_a_bfloat16_cpu, tmp_path):
    import json

    path = save_bundle(tmp_path / "bundle", detector=fitted_on_a_bfloat16_cpu, image_shape=(96, 96, 1))
    manifest = json.loads((path / "bundle.json").read_text())
    manifest["method_config"]["precision_"] = "auto"
    (path / "bundle.json").write_text(json.dumps(manifest))
    with pytest.raises(Exception, match="precision must be one of float32, bfloat16, not 'auto'"):
        load_bundle(path)
