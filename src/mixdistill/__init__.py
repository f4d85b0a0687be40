"""mixdistill: a data-versioned pipeline for Mix Distillation studies.

Reproduces and extends "Small Models Struggle to Learn from Strong Reasoners"
(arXiv 2502.12143). Pure modules (config, io, grading, mix, gap, report text)
never import torch; model code imports it inside functions.
"""

__version__ = "0.1.0"
