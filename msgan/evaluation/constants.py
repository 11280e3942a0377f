"""Names the evaluation modules share (the bottom of ``msgan.evaluation``: imports nothing)."""

TRUTH = "truth"  # the method name of the true image in tables that list both
BASELINE, FOLLOW_UP = "t0", "t1"  # the two visits of the longitudinal analysis (sec. 4.2.5)
