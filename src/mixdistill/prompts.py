"""Chat messages for one problem: the single prompt builder behind teachers, training, evaluation and analysis.

A leaf module (no project imports), so a stage that builds prompts depends on this file alone.
"""

from __future__ import annotations


def build_messages(question: str, prompt, system: str | None = None, template: str | None = None) -> tuple:
    """Messages for `question` under `prompt` (a PromptConfig). A teacher may override the system prompt and
    template (e.g. a long-CoT teacher's own instructions); training and evaluation use `prompt` as it is.

    >>> from types import SimpleNamespace as P
    >>> build_messages("1+1?", P(template="Q: {problem}", system="Be brief."))
    ({'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Q: 1+1?'})
    >>> build_messages("1+1?", P(template="Q: {problem}", system=None), template="{problem} A:")
    ({'role': 'user', 'content': '1+1? A:'},)
    """
    messages = []
    system = system if system is not None else prompt.system
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": (template or prompt.template).format(problem=question)})
    return tuple(messages)
