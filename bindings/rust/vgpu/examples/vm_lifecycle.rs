//! A VM's vGPUs from Rust: reserve by type and by requirement, hand the devices to the VMM,
//! refuse a VM that does not fit (and say why), release; then a placement policy written as a
//! closure. On the built-in simulated host.
//!
//!     VGPU_LIB_DIR=build/default LD_LIBRARY_PATH=build/default \
//!         cargo run --offline --manifest-path bindings/rust/Cargo.toml --example vm_lifecycle

use vgpu::{ErrorCode, Manager, ManagerOptions, Request};

fn lifecycle() -> Result<(), vgpu::Error> {
    // [lifecycle]
    let m = Manager::open(ManagerOptions::new())?; // the built-in simulated host
    let mut made = m.create(&Request::of_type("A16-4Q").owner("vm-web"))?;
    let render = Request::new()
        .min_framebuffer_bytes(24 << 30)
        .series('Q')
        .count(2)
        .owner("vm-render");
    made.extend(m.create(&render)?);
    for v in &made {
        // What QEMU is given: an mdev's sysfs path or a VF's PCI address; none when simulated.
        let device = if v.device.is_empty() {
            "(simulated: no device)"
        } else {
            &v.device
        };
        println!(
            "{}: {} {} on {} at slot {}: {}",
            v.owner.as_deref().unwrap_or("-"),
            v.type_name,
            v.uuid,
            v.gpu,
            v.placement,
            device
        );
    }
    let big = Request::new()
        .min_framebuffer_bytes(48 << 30)
        .series('Q')
        .count(2)
        .owner("vm-big");
    match m.create(&big) {
        Err(e) if e.code == ErrorCode::NoCapacity => {
            println!(
                "vm-big: does not fit on this host, not started ({})",
                e.code.name()
            );
            for verdict in m.explain(&big)?.iter().filter(|v| !v.eligible) {
                println!(
                    "  {}: {}",
                    verdict.gpu,
                    verdict.reason.as_deref().unwrap_or("")
                );
            }
        }
        Err(e) => return Err(e),
        Ok(_) => panic!("vm-big should not fit"),
    }
    for v in &made {
        m.destroy(&v.uuid)?;
    }
    println!("{} vGPUs left", m.instances()?.len());
    // [lifecycle]
    Ok(())
}

fn custom_policy() -> Result<(), vgpu::Error> {
    // [policy]
    // "Quiet neighbours": each VM on a GPU of its own while there is one, on the smallest GPU
    // model that can serve it, at the tightest fit.
    let options = ManagerOptions::new()
        .policy("quiet-neighbours")
        .custom_policy(|c| {
            let left_over =
                c.gpu_framebuffer_bytes - c.used_framebuffer_bytes - c.type_framebuffer_bytes;
            f64::from(c.vgpu_count) * 1e30 + c.gpu_framebuffer_bytes as f64 * 1e6 + left_over as f64
        });
    // [policy]
    let m = Manager::open(options)?;
    for vm in ["vm-1", "vm-2", "vm-3"] {
        let v = m.create(
            &Request::new()
                .min_framebuffer_bytes(8 << 30)
                .series('Q')
                .owner(vm),
        )?;
        println!(
            "quiet-neighbours: {}: {} on {} at slot {}",
            vm, v[0].type_name, v[0].gpu, v[0].placement
        );
    }
    Ok(())
}

fn main() -> Result<(), vgpu::Error> {
    lifecycle()?;
    custom_policy()?;
    println!("rust example OK");
    Ok(())
}
