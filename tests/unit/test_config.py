"""Bad params: every case fails before any work, naming the key path and the allowed values."""

import copy
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from mixdistill.config import ConfigError, load_config, parse_config

from ..conftest import committed

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = yaml.safe_load(committed("params.yaml"))  # as committed: never the workspace copy


def _with(path: str, value, delete=False):
    data = copy.deepcopy(DEFAULT)
    node = data
    *parents, last = path.split(".")
    for p in parents:
        node = node[p]
    if delete:
        del node[last]
    else:
        node[last] = value
    return data


OPENAI = {"backend": "openai", "model": "m", "options": {"base_url": "http://127.0.0.1:8000/v1"}}
CASES = [
    # (description, params, expected fragment of the one error message)
    ("weight above 1", _with("mix.weight", 1.5), "mix.weight: Input should be less than or equal to 1, got 1.5"),
    ("weight below 0", _with("mix.large_weight", -0.1), "mix.large_weight: Input should be greater than or equal to 0, got -0.1"),
    ("weight wrong type", _with("mix.weight", "high"), "mix.weight: Input should be a valid number, got 'high'"),
    ("mix unit", _with("mix.unit", "words"), "mix.unit: Input should be 'examples' or 'tokens', got 'words'"),
    ("repeated seed", _with("train.seeds", [0, 1, 0]), "train.seeds: [0, 1, 0] repeats a seed"),
    ("no seed", _with("train.seeds", []), "train.seeds"),
    ("negative seed", _with("train.seeds", [-1]), "train.seeds[0]: Input should be greater than or equal to 0, got -1"),
    ("unknown teacher role", _with("teachers.huge", {"backend": "synthetic", "style": "long"}),
     "teachers.huge: unknown key; allowed: long, short, large, small"),
    ("unknown backend", _with("teachers.long", {"backend": "gpt5", "model": "x"}),
     "teachers.long.backend: 'gpt5' is not allowed; allowed: synthetic, transformers, openai, vllm, dataset"),
    ("no backend", _with("teachers.long", {"model": "x"}), "teachers.long.backend: missing; allowed: synthetic, transformers"),
    ("synthetic without style", _with("teachers.short", {"backend": "synthetic"}), "teachers.short.style: Field required"),
    ("real backend without model", _with("teachers.large", {"backend": "vllm"}), "teachers.large.model: Field required"),
    ("vllm option typo", _with("teachers.long", {"backend": "vllm", "model": "m", "options": {"tp": 2}}),
     "teachers.long.options.tp: not an engine argument of vLLM 0.32.0 (vllm.EngineArgs); did you mean "
     "tensor_parallel_size"),
    ("vllm option of the wrong type", _with("teachers.long", {"backend": "vllm", "model": "m",
                                                             "options": {"max_lora_rank": 12}}),
     "teachers.long.options.max_lora_rank: Input should be 1, 8, 16, 32, 64, 128, 256, 320 or 512, got 12"),
    ("vllm option out of range", _with("teachers.long", {"backend": "vllm", "model": "m", "options": {"gpu_memory_utilization": 1.5}}),
     "teachers.long.options.gpu_memory_utilization: Input should be less than or equal to 1, got 1.5"),
    ("openai without base_url", _with("teachers.long", {"backend": "openai", "model": "m", "options": {}}),
     "teachers.long.options.base_url: Field required"),
    ("openai without options", _with("teachers.long", {"backend": "openai", "model": "m"}), "teachers.long.options: Field required"),
    ("openai option typo", _with("teachers.long", {**OPENAI, "options": {**OPENAI["options"], "retries": 3}}),
     "teachers.long.options.retries: unknown key; allowed: base_url, api_key_env, concurrency"),
    ("model on a synthetic teacher", _with("teachers.short", {"backend": "synthetic", "style": "short", "model": "x"}),
     "teachers.short.model: unknown key; allowed: system_prompt"),
    ("style on a transformers teacher", _with("teachers.large", {"backend": "transformers", "model": "x", "style": "long"}),
     "teachers.large.style: unknown key"),
    ("dataset teacher option typo", _with("teachers.long", {"backend": "dataset", "model": "x.jsonl", "options": {"column": "q"}}),
     "teachers.long.options.column: unknown key; allowed: question_column, response_column, split"),
    ("vllm options on transformers evaluation", _with("evaluate.options", {"tensor_parallel_size": 4}),
     "evaluate.options.tensor_parallel_size: unknown key; this backend takes no options"),
    ("vllm evaluation option typo", _with("evaluate", {**DEFAULT["evaluate"], "backend": "vllm", "options": {"tensor_paralel_size": 4}}),
     "evaluate.options.tensor_paralel_size: not an engine argument of vLLM 0.32.0 (vllm.EngineArgs); did you mean "
     "tensor_parallel_size"),
    ("unknown registry benchmark", _with("problems.train", [{"source": "registry", "task": "math5000", "count": 3}]),
     "problems.train[0].task: Input should be 'math500', 'gsm8k'"),
    ("registry source with a bad hub field", _with("problems.train", [{"source": "registry", "task": "gsm8k", "count": 3,
                                                                        "answer_format": "latex"}]),
     "problems.train[0].answer_format: Input should be 'plain', 'boxed' or 'gsm8k', got 'latex'"),
    ("registry source with an unknown key", _with("problems.train", [{"source": "registry", "task": "gsm8k", "count": 3,
                                                                       "colum": "q"}]),
     "problems.train[0].colum: unknown key; allowed: source, task, count, origin, question_field, answer_field"),
    ("file source without path", _with("problems.train", [{"source": "file", "count": 3}]), "problems.train[0].path: Field required"),
    ("config on a file source", _with("problems.train", [{"source": "file", "path": "x.jsonl", "count": 3, "config": {}}]),
     "problems.train[0].config: unknown key"),
    ("missing role", _with("teachers.small", None, delete=True), "teachers.small: Field required"),
    ("missing tracked key", _with("mix.weight", None, delete=True), "mix.weight: Field required"),
    ("unknown key", _with("train.learning_rat", 0.1), "train.learning_rat: unknown key; allowed: method, sft, lora"),
    ("not an SFTConfig field", _with("train.sft", {"max_grad_nrm": 1.0}), "train.sft.max_grad_nrm: not a field of TRL's SFTConfig; did you mean"),
    ("SFTConfig field the pipeline owns", _with("train.sft", {"output_dir": "x"}), "train.sft.output_dir: set by the pipeline"),
    ("unknown top-level key", _with("mixx", {}), "mixx: unknown key"),
    ("negative count", _with("problems.benchmarks", {"x": {"task": "chain_sum", "count": -3}}),
     "problems.benchmarks.x.count: Input should be greater than or equal to 1, got -3"),
    ("a key DVC's run-cache cannot see", _with("problems.benchmarks", {"x": {"task": "chain_sum", "count": 3, "config": {"size": 3}}}),
     "problems.benchmarks.x.config.size: keys named size or nfiles are invisible to DVC's run-cache"),
    ("zero problems", _with("problems.train", []), "problems.train: List should have at least 1 item"),
    ("no benchmarks", _with("problems.benchmarks", {}), "problems.benchmarks: Dictionary should have at least 1 item"),
    ("bad training method", _with("train.method", "qlora"), "train.method: Input should be 'lora' or 'full', got 'qlora'"),
    ("bool for int", _with("seed", True), "seed: Input should be a valid integer, got True"),
    ("student name with dash", _with("students", {"smol-135m": DEFAULT["students"]["smollm2_135m"]}),
     "students.smol-135m: student names may hold only letters, digits and '_'"),
    ("student name with dot", _with("students", {"smol.v2": DEFAULT["students"]["smollm2_135m"]}),
     "students.smol.v2: student names may hold only letters, digits and '_' (DVC reads '.' as a params path"),
    ("benchmark named average", _with("problems.benchmarks", {"average": DEFAULT["problems"]["benchmarks"]["products"]}),
     "problems.benchmarks.average: 'average' is the name of a metric the pipeline writes beside every benchmark's"),
    ("student names that differ only in case", _with("students", {"smol": DEFAULT["students"]["smollm2_135m"],
                                                                   "Smol": DEFAULT["students"]["smollm2_135m"]}),
     "students.Smol: differs from student 'smol' only in case: on a case-insensitive file system (macOS, Windows) both "
     "students' models and metrics are the same files"),
    ("benchmark name with dash", _with("problems.benchmarks", {"gsm-8k": DEFAULT["problems"]["benchmarks"]["products"]}),
     "problems.benchmarks.gsm-8k: benchmark names may hold only letters, digits and '_'"),
    ("negative seed", _with("seed", -1), "seed: Input should be greater than or equal to 0, got -1"),
    ("a count that cannot fit", _with("problems.benchmarks", {"p": {"task": "products", "count": 10**9}}),
     "problems.benchmarks.p.count: Input should be less than or equal to 1000000, got 1000000000"),
    ("nan anywhere", _with("train.sft.learning_rate", float("nan")), "train.sft.learning_rate: nan is not a finite number"),
    ("infinity anywhere", _with("evaluate.top_p", float("inf")), "evaluate.top_p: inf is not a finite number"),
    ("sft number as a YAML 1.1 string", _with("train.sft.learning_rate", "5e-4"),
     "train.sft.learning_rate: '5e-4' is read as a string by YAML 1.1 (PyYAML) but as a number by DVC; write it with a "
     "dot and a signed exponent, e.g. 0.0005"),
    ("sft type", _with("train.sft.per_device_train_batch_size", 2.5),
     "train.sft.per_device_train_batch_size: 2.5 is not allowed: Input should be a valid integer (TRL"),
    ("sft range", _with("train.sft.learning_rate", -0.1),
     "train.sft.learning_rate: -0.1 is not allowed: Input should be greater than 0"),
    ("sft literal", _with("train.sft.packing", "yes"), "train.sft.packing: 'yes' is not allowed: Input should be a valid boolean"),
    ("gguf student without a file", _with("students", {"s": {"source": "gguf"}}), "students.s: source gguf needs path, or package and file"),
    ("template file missing", _with("prompt.template_file", "nope.txt"), "prompt.template_file: nope.txt is not a file"),
    ("not a mapping", [1, 2], "<root>: Input should be a valid dictionary or instance of Config, got list"),
    ("override for an unknown run", _with("train.overrides", {"mixx": {"sft": {"learning_rate": 0.1}}}),
     "train.overrides.mixx: not a recipe, a student or STUDENT-RECIPE; recipes: long, short"),
    ("override of a per-pipeline key", _with("train.overrides", {"mix_long": {"launch": "python"}}),
     "train.overrides.mix_long.launch: unknown key; allowed: method, sft, lora"),
    ("override of a lora key out of range", _with("train.overrides", {"smollm2_135m-mix_large": {"lora": {"r": 0}}}),
     "train.overrides.smollm2_135m-mix_large.lora.r: Input should be greater than or equal to 1, got 0"),
    ("override of an unknown lora key", _with("train.overrides", {"long": {"lora": {"rank": 8}}}),
     "train.overrides.long.lora.rank: unknown key; allowed: r, alpha"),
    ("override sft typo", _with("train.overrides", {"long": {"sft": {"learning_rte": 1e-4}}}),
     "train.overrides.long.sft.learning_rte: not a field of TRL's SFTConfig"),
    ("released set for a single-teacher recipe", _with("mix.released", {"long": {"dataset": "x.jsonl"}}),
     "mix.released.long: Input should be 'mix_long' or 'mix_large', got 'long'"),
    ("released set without a dataset", _with("mix.released", {"mix_long": {"question_column": "problem"}}),
     "mix.released.mix_long.dataset: Field required"),
    ("several greedy samples", _with("evaluate.samples", 4), "evaluate.samples: 4 samples of greedy decoding are identical"),
    ("bad launcher", _with("train.launch", "bash run.sh"), "train.launch: 'bash run.sh' must start with python, accelerate or torchrun"),
    ("launch config missing", _with("train.launch", "accelerate launch --config_file configs/accelerate/zero3.yaml"),
     "train.launch: --config_file configs/accelerate/zero3.yaml: not a file (paths are relative to the project root; "
     "configs/accelerate/ holds cpu2.yaml, ddp.yaml, deepspeed_zero3.yaml, fsdp.yaml)"),
    ("launch config missing, = form", _with("train.launch", "accelerate launch --config_file=ds.yaml"),
     "train.launch: --config_file ds.yaml: not a file"),
    ("launch config not given", _with("train.launch", "accelerate launch --config_file"),
     "train.launch: --config_file (no file given): not a file"),
    ("sft choice typo", _with("train.sft.packing_strategy", "bdf"),
     "train.sft.packing_strategy: 'bdf' is not allowed: Input should be 'bfd', 'bfd_split' or 'wrapped' (TRL"),
    ("override sft choice typo", _with("train.overrides", {"long": {"sft": {"loss_type": "NLL"}}}),
     "train.overrides.long.sft.loss_type: 'NLL' is not allowed: Input should be 'nll', 'dft' or 'chunked_nll'"),
    ("no lora targets", _with("train.lora.targets", []), "train.lora.targets: List should have at least 1 item"),
    ("vllm revision among the engine options", _with("teachers.long", {"backend": "vllm", "model": "org/m", "options": {"revision": "v1"}}),
     "teachers.long.options.revision: set from the model's `revision` one level up (teachers.ROLE.revision)"),
    ("revision on a synthetic teacher", _with("teachers.long", {**DEFAULT["teachers"]["long"], "revision": "main"}),
     "teachers.long.revision: unknown key"),
]


@pytest.mark.parametrize("desc, data, fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_params_fail_with_key_path(desc, data, fragment):
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert fragment in str(err.value)


def test_every_problem_is_reported_at_once():
    data = _with("mix.weight", 2.0)
    data["train"]["method"] = "qlora"
    data["teachers"]["huge"] = {"backend": "synthetic", "style": "long"}
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert len(err.value.problems) == 3, err.value.problems
    assert "3 problem(s)" in str(err.value)


@pytest.mark.parametrize("key, value", [("mix.weight", float("nan")), ("evaluate.top_p", float("inf")),
                                        ("train.sft.learning_rate", float("-inf")),
                                        ("train.lora.dropout", float("nan")), ("teachers.long.error_rate", float("inf"))])
def test_a_nan_or_infinity_is_named_once_not_again_as_out_of_range(key, value):
    """Each key has a range pydantic checks too; the value is named once, as not finite."""
    with pytest.raises(ConfigError) as err:
        parse_config(_with(key, value))
    assert err.value.problems == [f"{key}: {value} is not a finite number"]


def test_the_launch_config_may_be_given_either_way():
    for launch in ("accelerate launch --config_file configs/accelerate/ddp.yaml",
                   "accelerate launch --config_file=configs/accelerate/ddp.yaml"):
        assert parse_config(_with("train.launch", launch)).train.launch == launch


def test_benchmark_names_may_differ_only_in_case():
    """They name no file (only keys inside the metrics), so nothing is overwritten."""
    bench = DEFAULT["problems"]["benchmarks"]["products"]
    assert set(parse_config(_with("problems.benchmarks", {"p": bench, "P": bench})).problems.benchmarks) == {"p", "P"}


def test_overrides_merge_key_by_key_and_reach_sft_config():
    data = _with("train.overrides", {"mix_long": {"sft": {"max_grad_norm": 0.5}, "lora": {"r": 4}},
                                     "smollm2_135m-mix_long": {"method": "full", "sft": {"learning_rate": 1e-5}}})
    cfg = parse_config(data)
    run = cfg.train_for("smollm2_135m", "mix_long")
    assert run.method == "full" and run.lora.r == 4 and run.lora.alpha == DEFAULT["train"]["lora"]["alpha"]
    assert run.sft["max_grad_norm"] == 0.5 and run.sft["learning_rate"] == 1e-5
    assert run.sft["per_device_train_batch_size"] == DEFAULT["train"]["sft"]["per_device_train_batch_size"]
    assert cfg.train_for("smollm2_135m", "long") == cfg.train.model_copy(update={"overrides": {}})
    from mixdistill.train import sft_config

    args = sft_config(run, 0, "/tmp/unused")  # any SFTConfig field, passed straight through
    assert (args.max_grad_norm, args.learning_rate, args.seed, args.report_to) == (0.5, 1e-5, 0, [])


def test_teacher_backend_tags_are_the_registry_names():
    from mixdistill.backends.registry import NAMES
    from mixdistill.config import TEACHERS

    assert tuple(TEACHERS) == NAMES


def _cli(capsys, monkeypatch, *args) -> SimpleNamespace:
    """`python -m mixdistill.config ARGS` from the project root, in this process."""
    from mixdistill.config.__main__ import main

    monkeypatch.chdir(ROOT)
    capsys.readouterr()
    rc = main(list(args))
    out = capsys.readouterr()
    return SimpleNamespace(returncode=rc, stdout=out.out, stderr=out.err)


def test_check_command_accepts_every_shipped_profile_and_reports_every_problem(tmp_path, capsys, monkeypatch):
    profiles = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "profiles").glob("*.yaml"))] + ["tests/profiles/tiny.yaml"]
    assert len(profiles) >= 6
    default = tmp_path / "params.yaml"
    default.write_text(committed("params.yaml"))
    ok = _cli(capsys, monkeypatch, "check", str(default), *profiles)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.count(": ok") == len(profiles) + 1
    bad = _with("mix.weight", 2.0)
    bad["train"]["sft"]["lr_scheduler_type"] = "cosine_typo"  # a value only TRL can judge
    bad["teachers"]["long"] = {"backend": "vllm", "model": "m", "options": {"tp": 2}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    res = _cli(capsys, monkeypatch, "check", str(path))
    assert res.returncode == 1
    assert "mix.weight: Input should be less than or equal to 1, got 2.0" in res.stderr and "teachers.long.options.tp: not an engine argument" in res.stderr
    bad["mix"]["weight"], bad["teachers"]["long"] = 0.2, DEFAULT["teachers"]["long"]
    path.write_text(yaml.safe_dump(bad))
    res = _cli(capsys, monkeypatch, "check", str(path))
    assert res.returncode == 1 and "train.sft (run smollm2_135m-long): TRL's SFTConfig rejected it" in res.stderr
    assert "cosine_typo" in res.stderr


def test_hub_and_schema_commands_fail_with_a_message_not_a_traceback(tmp_path, capsys, monkeypatch):
    for command in ("hub", "check"):  # where it looked, and no hint of a stage's --params
        res = _cli(capsys, monkeypatch, command, str(tmp_path / "nope.yaml"))
        assert res.returncode == 1 and res.stdout == ""
        assert f"nope.yaml: file not found (looked in {Path.cwd()})" in res.stderr and "--params" not in res.stderr
    from mixdistill.config.__main__ import main

    monkeypatch.chdir(tmp_path)  # not the project root: writes nothing there
    for args in (["schema"], ["schema", "--check"]):
        assert main(args) == 2
        assert "schema: run from the project root" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_every_key_dvc_yaml_tracks_is_required():
    dvc = (ROOT / "dvc.yaml").read_text()
    tracked = set(re.findall(r"^\s+- ((?:seed|prompt|problems|students|teachers|mix|train|evaluate|analysis)[\w.]*)\s*$", dvc, re.M))
    tracked |= {"mix.weight", "mix.large_weight"}  # declared through the recipes' wkey
    assert len(tracked) >= 20
    for key in sorted(tracked):
        with pytest.raises(ConfigError, match=rf"{re.escape(key)}: (Field required|missing; allowed: )"):
            parse_config(_with(key, None, delete=True))


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_every_hub_artefact_of_a_shipped_profile_names_its_revision_and_check_warns_when_unpinned(tmp_path, capsys,
                                                                                                 monkeypatch):
    """Each hub model and dataset in a profile carries `revision:`; not a commit -> a warning naming the key (the
    file still passes); a commit -> no warning."""
    from mixdistill.config.__main__ import hub_artefacts, unpinned

    profiles = sorted((ROOT / "profiles").glob("*.yaml"))
    found = [(p.name, key, rev) for p in profiles for key, _, rev in hub_artefacts(load_config(p))]
    assert len(found) >= 60 and all(rev is not None for _, _, rev in found), [f for f in found if f[2] is None]
    data = yaml.safe_load((ROOT / "profiles/paper-released.yaml").read_text())
    warnings = unpinned(parse_config(data))
    assert len(warnings) == 13 and any(w.startswith("warning: students.qwen25_3b.revision: Qwen/Qwen2.5-3B-Instruct at main "
                                                    "is not pinned") for w in warnings)
    commit = "0123456789abcdef0123456789abcdef01234567"
    data["students"]["qwen25_3b"]["revision"] = commit
    data["mix"]["released"]["mix_long"]["revision"] = commit
    assert len(unpinned(parse_config(data))) == 11
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    res = _cli(capsys, monkeypatch, "check", "--no-trl", str(path))
    assert res.returncode == 0 and f"{path}: ok (11 unpinned hub artefact(s))" in res.stdout
    assert res.stderr.count("is not pinned to a commit") == 11 and "students.qwen25_3b" not in res.stderr


def test_hub_revision_resolves_offline_from_the_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from mixdistill import hub

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    refs = tmp_path / "datasets--org--set" / "refs"
    refs.mkdir(parents=True)
    (refs / "main").write_text("c" * 40 + "\n")
    assert hub.resolve("org/set", None, "dataset") == "c" * 40
    assert hub.resolve("org/set", "v2", "dataset") is None  # no such ref cached: unknown, not guessed
    assert hub.resolve("org/set", "d" * 40, "dataset") == "d" * 40  # a commit names itself
    assert hub.pin("org/set", "main", "dataset") == ("c" * 40, {"revision": "main", "commit": "c" * 40})
    assert hub.pin(str(tmp_path), "main") == (None, {})  # a local folder: loaded as it is, nothing recorded


def test_params_reference_and_json_schema_are_generated_from_the_schema_and_current():
    """docs/params.md and configs/params.schema.json equal what `python -m mixdistill.config schema` writes now."""
    from mixdistill.config.reference import write

    assert write(ROOT, check=True) == [], "stale: run python -m mixdistill.config schema"
    doc = (ROOT / "docs/params.md").read_text()
    from mixdistill.config.schema import Config, TrainConfig

    for name, field in {**Config.model_fields, **TrainConfig.model_fields}.items():
        assert f"| `{name}` |" in doc and (field.description or "")[:40].split("\n")[0] in doc


def test_every_params_file_names_the_json_schema_and_passes_it():
    """Editors complete and check params.yaml and the profiles from the first line's schema; the schema accepts
    every shipped file and refuses what parsing refuses."""
    import json

    import jsonschema

    schema = json.loads((ROOT / "configs/params.schema.json").read_text())
    check = jsonschema.Draft202012Validator(schema)
    files = [ROOT / "params.yaml", *sorted((ROOT / "profiles").glob("*.yaml")), ROOT / "tests/profiles/tiny.yaml"]
    for f in files:
        text = committed(str(f.relative_to(ROOT))) if f.name == "params.yaml" else f.read_text()
        first = text.splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), f
        assert (f.parent / first.split("=", 1)[1]).resolve() == ROOT / "configs/params.schema.json", f
        assert not list(check.iter_errors(yaml.safe_load(text))), f
    types_see = ("weight above 1", "weight below 0", "weight wrong type", "mix unit", "no seed", "negative seed",
                 "unknown teacher role", "unknown backend", "no backend", "openai option typo", "missing tracked key")
    for desc, data, _ in CASES:  # what a validator checks (repeated seeds, names, files) only parsing sees
        if desc in types_see:
            assert list(check.iter_errors(data)), desc
