#!/usr/bin/env python3
"""Runs ../shared/bench/torch_reference.py on a GPU: torch_device.py DEVICE SCRIPT ARGS...

torch_reference.py is written for the CPU. Here every tensor it makes lands on DEVICE (torch.set_default_device),
matmuls stay true fp32 (TF32 off, as the issue's PyTorch figures), and its wall-clock reads (time.time) wait
for the device first, so a step's time is the step's, not the launch's. Used by `quijote bench` when
QUIJOTE_BENCH_TORCH_DEVICE=cuda.
"""
import runpy, sys, time
import torch

device, script, args = sys.argv[1], sys.argv[2], sys.argv[3:]
if device != "cpu":
    torch.set_default_device(device)  # torch ≥ 2.0
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
_clock = time.time
def synced():
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return _clock()
time.time = synced
sys.argv = [script] + args
runpy.run_path(script, run_name="__main__")
