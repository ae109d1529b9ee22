#!/usr/bin/env python3
"""Read a run directory's event files with TensorBoard's own loader (EventAccumulator: TFRecord CRCs,
Event protos, purging the events a SessionLog START supersedes) and its hparams plugin's parser; print JSON:
{"scalars": {tag: [[step, value], ...]}, "hparams": {name: value}}. Usage: read_tfevents.py RUN_DIR"""
import json
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import metadata

acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "tensors": 0})
acc.Reload()
scalars = {tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
hparams = {}
for tag, content in acc.PluginTagToContent(metadata.PLUGIN_NAME).items():
    if tag == metadata.SESSION_START_INFO_TAG:
        info = metadata.parse_session_start_info_plugin_data(content)
        for name, value in info.hparams.items():
            hparams[name] = value.WhichOneof("kind") and getattr(value, value.WhichOneof("kind"))
print(json.dumps({"scalars": scalars, "hparams": hparams}))
