"""A placement policy written in Python (bindings/python): "quiet neighbours", the policy of
examples/cpp/custom_policy.cpp, against the default policy on the same requests.

    VGPU_LIBRARY=build/default/libvgpu.so.1 PYTHONPATH=bindings/python \
        python3 examples/python/custom_policy.py
"""
import sys

import vgpu


# [policy]
def quiet_neighbours(c: vgpu.Candidate) -> float:
    """Each VM on a GPU of its own while there is one, on the smallest GPU model that can
    serve it, at the tightest fit."""
    left_over = c.gpu_framebuffer_bytes - c.used_framebuffer_bytes - c.type_framebuffer_bytes
    return c.vgpu_count * 1e30 + c.gpu_framebuffer_bytes * 1e6 + left_over
# [policy]


def main() -> int:
    for policy in (None, quiet_neighbours):
        with vgpu.Manager(policy_fn=policy, policy="quiet-neighbours" if policy else None) as m:
            print(f"{m.describe().policy}:")
            for vm in ("vm-1", "vm-2", "vm-3"):
                [v] = m.create(min_framebuffer=8 << 30, series="Q", owner=vm)
                print(f"  {vm}: {v.type:9} on {v.gpu} at slot {v.placement}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
