"""Names the evaluation modules share (the bottom of ``msgan.evaluation``)."""
from data_tools.contracts import BASELINE, FOLLOW_UP  # noqa: F401  (the visits: defined with the tasks)

TRUTH = "truth"  # the method name of the true image in tables that list both
