"""The model side of deep-chicken-saviour: classifiers, dense detection and training."""
