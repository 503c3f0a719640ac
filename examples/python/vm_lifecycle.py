"""A VM's vGPUs from Python (bindings/python): reserve by type and by requirement, hand the
devices to the VMM, refuse a VM that does not fit (and say why), release.

    VGPU_LIBRARY=build/default/libvgpu.so.1 PYTHONPATH=bindings/python \
        python3 examples/python/vm_lifecycle.py
"""
import sys

import vgpu


def main() -> int:
    # [lifecycle]
    with vgpu.Manager() as m:  # the built-in simulated host, private to this process
        web = m.create("A16-4Q", owner="vm-web")
        render = m.create(min_framebuffer=24 << 30, series="Q", count=2, owner="vm-render")
        for v in web + render:
            # What QEMU is given: an mdev's sysfs path, or a VF's PCI address; the simulated
            # host has no device node.
            device = v.device or "(simulated: no device)"
            print(f"{v.owner}: {v.type} {v.uuid} on {v.gpu} at slot {v.placement}: {device}")
        try:
            m.create(min_framebuffer=48 << 30, series="Q", count=2, owner="vm-big")
        except vgpu.NoCapacity as e:
            print(f"vm-big: does not fit on this host, not started ({e.name})")
            for verdict in m.explain(vgpu.Request(min_framebuffer=48 << 30, series="Q", count=2)):
                if not verdict.eligible:
                    print(f"  {verdict.gpu}: {verdict.reason}")
        for v in web + render:
            m.destroy(v.uuid)
        print(f"{len(m.instances())} vGPUs left")
    # [lifecycle]
    return 0


if __name__ == "__main__":
    sys.exit(main())
