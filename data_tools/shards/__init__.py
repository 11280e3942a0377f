"""``msgan make-tfrecords`` and the shards' reader: normalisation, the window/patch grid,
TFRecord writing and reading. Builds on :mod:`data_tools.io`."""
