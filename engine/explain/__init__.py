"""Explanations: RISE (batched, streaming, differentiable), Captum methods and the explanation attack."""

from engine.explain.masks import generate_masks
from engine.explain.methods import METHODS, explain, explainer
from engine.explain.rise import rise
from engine.explain.streaming import ColourRange, StreamingRise
from engine.explain.targets import ClassLogit, ClassProbability, DenseClassEvidence, all_probabilities

__all__ = ["METHODS", "ClassLogit", "ColourRange", "ClassProbability", "DenseClassEvidence", "StreamingRise", "all_probabilities", "explain", "explainer", "generate_masks", "rise"]
