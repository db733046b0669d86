"""binge: self-supervised audio-visual representation learning from long-form video.

Implements "Watching Too Much Television is Good" (hierarchical sampling + the cross-modal
NCE of Eq. 1) with AVID, AVID+CMA and CrissCross beside it. See README.md and
docs/architecture.md.
"""

__version__ = "0.1.0"
